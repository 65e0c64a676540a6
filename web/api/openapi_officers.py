"""The OpenAPI description of the officers endpoints, added to the document of web/api/openapi.py."""
from __future__ import annotations

from workflow.vocabulary import ROLES

from .openapi import ID_INT, INT, PAGING, PATHS, SCHEMAS, STR, body, err, json_request, nullable, op, ref

USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": ID_INT}
GRANT_ID = {"name": "grant_id", "in": "path", "required": True, "schema": ID_INT}
ROLE = {"type": "string", "enum": list(ROLES)}
SCOPE = ("Only users with a grant inside the caller's admin grants are visible; any other id answers 404 "
         "user_not_found. ")

USER_PROPS = {"id": INT, "username": STR, "full_name": STR, "email": nullable(STR), "phone": nullable(STR),
              "active": {"type": "boolean"}, "grants": {"type": "array", "items": ref("Grant")}}

# The request bodies (NewUser, UserPatch, GrantRequest) are generated from workflow.admin.officers UserIn,
# UserPatch and GrantIn (the views' @declare); the rules their validators hold are said in the operations.
SCHEMAS.update({
    "Grant": {"type": "object", "required": ["id", "role", "unit"],
              "properties": {"id": INT, "role": ROLE, "unit": {"type": "object", "properties": {
                  "id": INT, "name": STR}}}},
    "User": {"type": "object", "required": ["id", "username", "full_name", "active", "grants"],
             "properties": USER_PROPS},
    "UserCreated": {"type": "object", "required": ["id", "username", "full_name", "active", "grants"],
                    "properties": {**USER_PROPS, "set_password_url": {
                        **STR, "description": "Only when the user has no e-mail: the one-time link (valid 72 hours) "
                                              "to hand over. It is never shown again; with an e-mail the link is "
                                              "sent by e-mail."}}},
    "UserPage": {"type": "object", "required": ["items", "page", "per_page", "total", "pages"],
                 "properties": {"items": {"type": "array", "items": ref("User")}, "page": INT, "per_page": INT,
                                "total": INT, "pages": INT}},
})

FORBIDDEN = ("403 grant_above_own: a role at a unit above the caller's admin grants (a commune admin granting at "
             "the province); 403 user_above_own: the user holds roles outside the caller's administration. ")

PATHS.update({
    "/api/v1/users": {
        "get": op("Users in the caller's administration (paged)",
                  {"200": body(ref("UserPage")), "422": err("Unprocessable")}, tag="officers", op_id="listUsers",
                  params=[{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100},
                           "description": "Part of the username, full name or e-mail."}, *PAGING]),
        "post": op("Create a user with role grants",
                   {"201": body(ref("UserCreated"), "Created"), "400": err("BadRequest"), "403": err("Forbidden"),
                    "404": err("NotFound"), "422": err("Unprocessable")},
                   tag="officers", op_id="createUser",
                   description="`username`: 3-80 characters, ASCII letters, digits, dot, hyphen, underscore; "
                               "unique, ignoring case. `phone`: digits, + and spaces (6-20 digits). " + FORBIDDEN +
                               "A unit outside the caller's units is 404 unit_not_found. A taken "
                               "username is 422 invalid_input with fields.username. No password is set: the user "
                               "chooses it with a one-time link (e-mailed, or returned once as set_password_url).",
                   request=json_request(ref("NewUser"), {"username": "xa1.canbo2", "full_name": "Trần Thị Bình",
                                                         "email": "binh@example.vn",
                                                         "grants": [{"role": "branch_officer", "unit": 5}]}))},
    "/api/v1/users/{user_id}": {
        "get": op("One user", {"200": body(ref("User")), "404": err("NotFound")}, tag="officers", op_id="getUser",
                  params=[USER_ID], description=SCOPE),
        "patch": op("Deactivate or reactivate a user",
                    {"200": body(ref("User")), "400": err("BadRequest"), "403": err("Forbidden"),
                     "404": err("NotFound"), "422": err("Unprocessable")},
                    tag="officers", op_id="patchUser", params=[USER_ID],
                    description=SCOPE + FORBIDDEN + "Deactivation ends every session and token of the user; the "
                                "last admin of a province is refused (422 last_admin).",
                    request=json_request(ref("UserPatch"), {"active": False}))},
    "/api/v1/users/{user_id}/grants": {"post": op(
        "Give the user a role at a unit",
        {"201": body(ref("User"), "Created"), "400": err("BadRequest"), "403": err("Forbidden"),
         "404": err("NotFound"), "422": err("Unprocessable")},
        tag="officers", op_id="addGrant", params=[USER_ID], description=SCOPE + FORBIDDEN,
        request=json_request(ref("GrantRequest"), {"role": "commune_appraiser", "unit": 3}))},
    "/api/v1/users/{user_id}/grants/{grant_id}": {"delete": op(
        "Revoke a role grant",
        {"200": body(ref("User")), "403": err("Forbidden"), "404": err("NotFound"), "422": err("Unprocessable")},
        tag="officers", op_id="revokeGrant", params=[USER_ID, GRANT_ID],
        description=SCOPE + "The user's sessions and tokens end. Refused (422): the last admin of a province "
                    "(last_admin), the user's only grant (last_grant: deactivate instead).")},
})
