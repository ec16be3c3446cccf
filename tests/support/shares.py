"""Share links made and opened through the forms, as people do."""

from __future__ import annotations

import re

from .web import csrf_token


def create_link(client, study_id: str, level: str = "studies", **form) -> str:
    data = {"expires_in": 86400, "csrf_token": csrf_token(client), **form}
    response = client.post(f"/{level}/{study_id}/share", data=data)
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return re.search(r'id="share-link" type="text" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def path_of(link: str) -> str:
    return "/s/" + link.rsplit("/s/", 1)[1]


def open_link(client, link: str, password: str = ""):
    return client.post(path_of(link), data={"password": password, "csrf_token": csrf_token(client)})
