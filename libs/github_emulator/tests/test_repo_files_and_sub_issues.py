"""Trees, file contents and sub-issues, read and written through githubkit as the planner does."""

from __future__ import annotations

import base64

import pytest
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import RequestFailed

from paid_github_emulator import GitHubEmulator


async def test_tree_contents_and_sub_issues() -> None:
    with GitHubEmulator() as emulator:
        emulator.add_user("octo", "ghp_octo")
        emulator.create_repository("octo", "app", {"README.md": "# App\n", "src/app/main.py": "print(1)\n"})
        parent = emulator.create_issue("octo", "app", title="Parent", as_user="octo")
        child = emulator.create_issue("octo", "app", title="Child", as_user="octo")
        github = GitHub(TokenAuthStrategy("ghp_octo"), base_url=emulator.api_url + "/", http_cache=False)

        tree = (await github.rest.git.async_get_tree("octo", "app", "main", recursive="1")).parsed_data
        assert {(e.path, e.type) for e in tree.tree} >= {("README.md", "blob"), ("src/app/main.py", "blob")}
        top = (await github.rest.git.async_get_tree("octo", "app", "main")).parsed_data
        assert "src/app/main.py" not in {e.path for e in top.tree}
        content = (await github.rest.repos.async_get_content("octo", "app", "README.md")).parsed_data
        assert base64.b64decode(getattr(content, "content", "")).decode() == "# App\n"
        with pytest.raises(RequestFailed) as missing:
            await github.rest.repos.async_get_content("octo", "app", "CONTRIBUTING.md")
        assert missing.value.response.status_code == 404

        added = await github.rest.issues.async_add_sub_issue(
            "octo", "app", parent["number"], sub_issue_id=child["id"]
        )
        assert added.parsed_data.number == child["number"]
        with pytest.raises(RequestFailed) as twice:
            await github.rest.issues.async_add_sub_issue(
                "octo", "app", parent["number"], sub_issue_id=child["id"]
            )
        assert twice.value.response.status_code == 422
        listed = (await github.rest.issues.async_list_sub_issues("octo", "app", parent["number"])).parsed_data
        assert [i.number for i in listed] == [child["number"]]
        assert [i["number"] for i in emulator.sub_issues("octo", "app", parent["number"])] == [
            child["number"]
        ]
