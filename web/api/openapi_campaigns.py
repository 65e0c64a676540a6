"""The OpenAPI description of the campaigns endpoints, added to the document of web/api/openapi.py."""
from __future__ import annotations

from .openapi import DATE, DATETIME, ID_INT, INT, PATHS, SCHEMAS, STR, body, err, json_request, nullable, op, ref

CAMPAIGN_ID = {"name": "campaign_id", "in": "path", "required": True, "schema": ID_INT}
SCHEMAS["Campaign"]["properties"].update({
    "scoring_deadline": DATE, "appraisal_deadline": DATE, "stage_limit_days": INT, "escalate_after_days": INT,
    "closed_at": DATETIME, "nominations_open": {"type": "boolean"},
    "next_deadline": nullable({"type": "string", "enum": ["submit_deadline", "scoring_deadline",
                                                          "appraisal_deadline", "decision_deadline"]}),
    "days_left": nullable({**INT, "description": "Days from today (Vietnam) to next_deadline; null once every "
                                                 "deadline has passed or the campaign is closed."}),
})

# The request bodies (NewCampaign, CampaignPatch) are generated from workflow.admin.campaigns.CampaignIn and
# workflow.declared.CampaignChange (the views' @declare); what their fields mean is said in the operations.
FIELDS = ("Dates are YYYY-MM-DD (pages also take dd/mm/yyyy). `title` is the title code (CDHT, XHT); "
          "`rubric_id` or `rubric_version` picks a rubric of the title (default the newest). After "
          "`submit_deadline` a branch can neither create nor submit (422 deadline_passed); `scoring_deadline`: "
          "branch scoring (or a commune's self-assessment) by; `appraisal_deadline`: appraisal by; "
          "`decision_deadline`: final decision by. ")

PATHS["/api/v1/campaigns"]["post"] = op(
    "Open a campaign (administrators of the province)",
    {"201": {**body(ref("Campaign"), "Created"), "headers": {"Location": {"schema": STR}}},
     "400": err("BadRequest"), "403": err("Forbidden"), "404": err("NotFound"), "422": err("Unprocessable")},
    tag="campaigns", op_id="createCampaign",
    description=FIELDS + "One campaign per title, year and province (a second is a field error on `year`). "
                         "Outside your provinces the province is not found (404).",
    request=json_request(ref("NewCampaign"), {
        "title": "CDHT", "year": 2027, "province_id": 1, "name": "Công dân học tập năm 2027",
        "opens_on": "2027-09-01", "submit_deadline": "2027-11-30", "scoring_deadline": "2027-12-10",
        "appraisal_deadline": "2027-12-20", "decision_deadline": "2027-12-31"}))

PATHS.update({
    "/api/v1/campaigns/{campaign_id}": {
        "get": op("One campaign of the caller's provinces", {"200": body(ref("Campaign")), "404": err("NotFound")},
                  tag="campaigns", op_id="getCampaign", params=[CAMPAIGN_ID]),
        "patch": op(
            "Change a campaign: extend a deadline (with a reason), rename, repoint its rubric, close it",
            {"200": body(ref("Campaign")), "400": err("BadRequest"), "403": err("Forbidden"),
             "404": err("NotFound"), "422": err("Unprocessable")},
            tag="campaigns", op_id="patchCampaign", params=[CAMPAIGN_ID],
            description=FIELDS + "Field names are those GET returns. A deadline moved later without `reason` "
                                 "is refused (422, fields.reason); `\"closed\": true` closes the campaign "
                                 "(no more nominations). Every change is audited with the values before and after.",
            request=json_request(ref("CampaignPatch"), {"submit_deadline": "2026-12-20",
                                                        "reason": "Mưa lũ kéo dài, các chi hội xin thêm thời gian"})),
    },
})
