"""The closed vocabularies the database CHECKs and the engine share (one place for each list)."""

LEVELS = ("province", "district", "commune", "branch", "village")
# Administration: units. Commune-level kinds after the 2025 reform; a village is a thôn or a tổ dân phố.
COMMUNE_KINDS = ("xã", "phường", "đặc khu")
VILLAGE_KINDS = ("thôn", "tổ dân phố")
AREA_CLASSES = ("ordinary", "disadvantaged")
ROLES = ("branch_officer", "commune_appraiser", "district_approver", "provincial_approver", "auditor", "admin")
# Workflow states across all title definitions; a definition uses a subset (workflow/definitions.py).
STATES = (
    "evidence_collection", "branch_scoring", "self_assessment", "commune_appraisal", "upper_appraisal",
    "final_approval", "recognised", "rejected", "withdrawn", "revoked",
)
CLOSED_STATES = ("recognised", "rejected", "withdrawn", "revoked")
ACTIONS = ("submit", "approve", "return", "reject", "withdraw", "revoke")
# Issue 14: who a title is about (titles.json "subject_kind"). A person is known by citizen ID; a commune or a village
# is a unit; a household, a clan or an organisation (agency, school, enterprise) is a collective (workflow/subjects.py).
SUBJECT_KINDS = ("person", "household", "clan", "village", "organisation", "commune")
COLLECTIVE_KINDS = ("household", "clan", "organisation")
ORGANISATION_TYPES = ("agency", "education", "enterprise")  # education: the learners' thresholds (TT 24/2023)
