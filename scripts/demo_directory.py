"""The demo organization's people, pushed as an identity provider pushes them.

`scripts/demo` runs this once, when it creates the demo organization: thirty people and
three groups sent over SCIM with the demo's SCIM token (in-process, through the server's
own app: every create is validated, seated by the automatic rules and audited as an IdP's
would be), then one of them made an admin by the owner over the admin API. The owner and
the first nineteen take the twenty Chat + Claude Code seats; the rest take Chat, so the
console shows a full seat type at once: the help-center article's swap, and the prompt to
buy a seat, can be tried in the browser without reading the API.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from scim_server.app import create_app

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

# (given name, family name, group): Engineering first, so they take the Claude Code seats.
PEOPLE = [
    *((given, family, "Engineering") for given, family in [
        ("Ana", "López"), ("Bruno", "Silva"), ("Chen", "Wei"), ("Dara", "O'Neill"),
        ("Elif", "Yilmaz"), ("Farah", "Haddad"), ("Gustav", "Lindqvist"), ("Hana", "Sato"),
        ("Ines", "Moreau"), ("Jonas", "Becker"), ("Kwame", "Mensah"), ("Lena", "Novak"),
        ("Mateo", "Rossi"), ("Nadia", "Petrova"), ("Omar", "Farouk"), ("Priya", "Nair"),
        ("Quentin", "Dubois"), ("Rosa", "Jiménez"), ("Sven", "Olsen"),
    ]),
    *((given, family, "Sales") for given, family in [
        ("Tara", "Kelly"), ("Umar", "Siddiqui"), ("Vera", "Costa"), ("Will", "Turner"),
        ("Xenia", "Ivanova"), ("Yusuf", "Demir"),
    ]),
    *((given, family, "Support") for given, family in [
        ("Zoe", "Martin"), ("Amir", "Rahimi"), ("Beatriz", "Santos"), ("Carl", "Jensen"),
        ("Delphine", "Roux"),
    ]),
]  # fmt: skip
ADMIN = "ana.lopez@demo.example"


def email(given: str, family: str) -> str:
    plain = family.lower().replace("'", "")
    for accented, letter in zip("óéíñ", "oein", strict=True):
        plain = plain.replace(accented, letter)
    return f"{given.lower()}.{plain}@demo.example"


def main(demo_json: str) -> None:
    with open(demo_json) as file:
        demo = json.load(file)
    client = create_app({"LOG_LEVEL": "WARNING"}).test_client()
    idp = {"Authorization": f"Bearer {demo['scim_token']}"}
    owner = {"Authorization": f"Bearer {demo['owner_api_token']}"}

    def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        answer = client.post(path, json=body, headers=headers)
        if answer.status_code >= 300:
            raise SystemExit(f"demo directory: {path} answered {answer.status_code}: {answer.text}")
        return answer.get_json()

    members: dict[str, list[str]] = {}
    for given, family, group in PEOPLE:
        user = post(
            "/scim/v2/Users",
            {
                "schemas": [USER],
                "userName": email(given, family),
                "displayName": f"{given} {family}",
                "name": {"givenName": given, "familyName": family},
                "emails": [{"value": email(given, family), "type": "work", "primary": True}],
                "active": True,
            },
            idp,
        )
        members.setdefault(group, []).append(user["id"])
    for group, ids in members.items():
        body = {"schemas": [GROUP], "displayName": group, "members": [{"value": i} for i in ids]}
        post("/scim/v2/Groups", body, idp)
    admin_id = members["Engineering"][0]
    answer = client.patch(f"/api/v1/members/{admin_id}", json={"role": "admin"}, headers=owner)
    if answer.status_code != 200:
        raise SystemExit(f"demo directory: making {ADMIN} an admin answered {answer.status_code}")
    print(f"Demo directory:  {len(PEOPLE)} people in {len(members)} groups; {ADMIN} is an admin")


if __name__ == "__main__":
    main(sys.argv[1])
