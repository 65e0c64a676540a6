"""The workflow engine: models, title definitions, rubrics, authorization, stages and the one entry point
(workflow.engine.fire). It imports nothing from web/ or notifications/."""
