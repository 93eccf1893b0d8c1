"""Privacy by construction on every client page and client API response.

Both client demo accounts open every page and call every endpoint; nothing may carry a patient's
identity or free text, no count between 1 and k − 1 may appear, and no hidden cell may be worked
out by subtracting the visible cells from a total.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re

import pytest

from psp_crm.models import (
    Activity,
    AdverseEvent,
    DiaryEntry,
    Enrolment,
    Interaction,
    Patient,
    Program,
    ProgramAnalyticsSettings,
    Report,
)
from psp_crm.selectors.programs import (
    Cell,
    Share,
    client_program_dashboard,
    client_programs,
    suppress_parts,
)

NORTHWIND = "medical@northwind.example"
SOUTHWIND = "medical@southwind.example"
CLIENTS = (NORTHWIND, SOUTHWIND)
PATIENT_CODE = re.compile(r"PT-[A-Z0-9]{4}-[A-Z0-9]{4}")
TD_NUMBER = re.compile(r'<td class="text-end">\s*(\d+)\s*</td>')


def _client_urls(user) -> list[str]:
    urls = ["/client/", "/api/v1/client/programs/"]
    for code in client_programs(actor=user).values_list("code", flat=True):
        urls += [
            f"/client/programs/{code}/",
            f"/client/programs/{code}/report/",
            f"/client/programs/{code}/export.csv",
            f"/api/v1/client/programs/{code}/kpis/",
        ]
    return urls


def _forbidden_strings() -> set[str]:
    """Every patient's identity and contacts, and every piece of free text in the records."""
    strings: set[str] = set()
    for p in Patient.objects.all():
        strings |= {p.full_name, f"{p.last_name} {p.first_name}", p.code}
        strings |= {value for value in (p.email, p.phone, p.fiscal_code, p.address) if value}
        if p.user_id:
            strings.add(p.user.email)
        if p.birth_date:
            strings |= {p.birth_date.isoformat(), p.birth_date.strftime("%d/%m/%Y")}
    texts = [
        *DiaryEntry.objects.exclude(note="").values_list("note", flat=True),
        *Report.objects.values_list("body", flat=True),
        *AdverseEvent.objects.values_list("description", flat=True),
        *Activity.objects.exclude(outcome_notes="").values_list("outcome_notes", flat=True),
        *Activity.objects.exclude(status_reason="").values_list("status_reason", flat=True),
        *Interaction.objects.values_list("summary", flat=True),
    ]
    strings |= {text for text in texts if len(text) >= 15}
    return {s for s in strings if s}


def _small_numbers_in_json(payload: object, k: int, path: str = "") -> list[str]:
    found = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ("min_cell", "code"):
                continue
            found += _small_numbers_in_json(value, k, f"{path}.{key}")
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            found += _small_numbers_in_json(value, k, f"{path}[{index}]")
    elif isinstance(payload, int) and not isinstance(payload, bool) and 0 < payload < k:
        found.append(f"{path}={payload}")
    return found


@pytest.fixture
def all_responses(signed_in, demo_user):
    """``(email, url, response)`` for every client page and endpoint of both client accounts."""
    collected = []
    for email in CLIENTS:
        client = signed_in(email)
        for url in _client_urls(demo_user(email)):
            collected.append((email, url, client.get(url)))
    return collected


def test_every_client_page_and_endpoint_answers(all_responses):
    assert len(all_responses) >= 2 * 2 + 4 * 3  # both accounts, three sponsored programs
    for email, url, response in all_responses:
        assert response.status_code == 200, (email, url)


def test_no_identity_contact_or_free_text_anywhere(all_responses):
    forbidden = _forbidden_strings()
    assert len(forbidden) > 50  # the check is not vacuous
    for email, url, response in all_responses:
        body = response.content.decode()
        assert not PATIENT_CODE.search(body), (email, url)
        leaks = [s for s in forbidden if s in body]
        assert not leaks, (email, url, leaks[:3])


def test_no_count_below_k_in_html_csv_or_json(all_responses):
    k = 5
    for email, url, response in all_responses:
        body = response.content.decode()
        if url.endswith("/kpis/") or url.startswith("/api/"):
            payload = json.loads(body)
            assert not _small_numbers_in_json(payload, k), (email, url)
        elif url.endswith(".csv"):
            for row in csv.DictReader(io.StringIO(body)):
                value = row["value"]
                if value.isdigit():
                    assert not 0 < int(value) < k, (email, url, row)
        else:
            small = [int(n) for n in TD_NUMBER.findall(body) if 0 < int(n) < k]
            assert not small, (email, url, small)


def _assert_no_differencing(cells: dict[str, Cell], k: int) -> None:
    total = cells["total"]
    parts = {key: cell for key, cell in cells.items() if key != "total"}
    hidden = [key for key, cell in parts.items() if cell.suppressed]
    if total.suppressed or not hidden:
        return
    remainder = total.value - sum(cell.value for cell in parts.values() if not cell.suppressed)
    assert len(hidden) >= 2, "a lone hidden cell equals the total minus the visible cells"
    assert remainder >= k, "the hidden cells together would form a small cell"


def test_differencing_on_random_parts_cannot_reveal_a_hidden_cell():
    rng = random.Random(6)
    for _ in range(3000):
        k = rng.choice((3, 5, 10))
        parts = {
            f"p{i}": rng.choice((0, 0, 1, 2, 3, 4, 6, 9, 20)) for i in range(rng.randint(1, 6))
        }
        cells = suppress_parts(parts, min_cell=k)
        _assert_no_differencing(cells, k)
        for key, value in parts.items():
            assert cells[key].suppressed or cells[key].value == value


def test_differencing_on_the_dashboards_of_both_clients(demo_user):
    for email in CLIENTS:
        actor = demo_user(email)
        for program in client_programs(actor=actor):
            dashboard = client_program_dashboard(actor=actor, code=program.code)
            for table in dashboard.tables:
                if not table.has_total or table.key == "on_time":
                    continue
                cells = {str(label): row[0] for label, row in table.rows[:-1]}
                cells["total"] = table.rows[-1][1][0]
                _assert_no_differencing(cells, dashboard.min_cell)
                for label, row in table.rows:
                    for cell in row:
                        if isinstance(cell, Cell) and cell.value is not None:
                            assert not 0 < cell.value < dashboard.min_cell, (table.key, label)
                        if isinstance(cell, Share):
                            assert cell.value is None or 0 <= cell.value <= 5


@pytest.mark.parametrize(
    ("email", "other_program"),
    [(SOUTHWIND, "MS-ADHERE"), (SOUTHWIND, "PSO-CARE"), (NORTHWIND, "RA-HOME")],
)
def test_cross_tenant_is_404_on_every_page_and_endpoint(signed_in, email, other_program):
    client = signed_in(email)
    for url in (
        f"/client/programs/{other_program}/",
        f"/client/programs/{other_program}/report/",
        f"/client/programs/{other_program}/export.csv",
        f"/api/v1/client/programs/{other_program}/kpis/",
    ):
        assert client.get(url).status_code == 404, url
    listed = client.get("/api/v1/client/programs/").json()["programs"]
    assert other_program not in {p["code"] for p in listed}


def test_unknown_program_is_the_same_404(signed_in):
    client = signed_in(NORTHWIND)
    assert client.get("/api/v1/client/programs/NO-SUCH/kpis/").status_code == 404
    assert client.get("/client/programs/NO-SUCH/export.csv").status_code == 404


def test_api_refuses_anonymous_and_non_client_users(client, signed_in):
    assert client.get("/api/v1/client/programs/").status_code == 401
    doctor = signed_in("dr.rossi@sanluca.example")
    assert doctor.get("/api/v1/client/programs/").status_code == 403
    assert doctor.get("/api/v1/client/programs/MS-ADHERE/kpis/").status_code == 403


def test_a_program_k_raises_the_threshold_everywhere(signed_in):
    program = Program.objects.get(code="MS-ADHERE")
    ProgramAnalyticsSettings.objects.create(program=program, min_cell=10)
    client = signed_in(NORTHWIND)
    for url in ("/client/", "/client/programs/MS-ADHERE/", "/client/programs/MS-ADHERE/report/"):
        html = client.get(url).content.decode()
        assert "&lt;10" in html
        assert not [int(n) for n in TD_NUMBER.findall(html) if 0 < int(n) < 10], url
    payload = client.get("/api/v1/client/programs/MS-ADHERE/kpis/").json()
    assert payload["min_cell"] == 10
    assert not _small_numbers_in_json(payload, 10)


def test_every_table_of_the_same_counts_hides_the_same_cells(demo_user):
    """The status breakdown, the home summary and the funnel share one suppression."""
    from psp_crm.selectors.programs import client_program_detail, client_program_summaries

    actor = demo_user(NORTHWIND)
    for summary in client_program_summaries(actor=actor):
        code = summary.program.code
        detail = client_program_detail(actor=actor, code=code)
        funnel = client_program_dashboard(actor=actor, code=code).table("funnel")
        by_label = {str(label): cells[0] for label, cells in funnel.rows}
        for label, cell in detail.statuses:
            assert by_label[str(label)] == cell
        for status in ("active", "suspended", "referred", "withdrawn"):
            label = dict(Enrolment.Status.choices)[status]
            assert by_label[str(label)] == summary.cells[status]


def test_tables_over_the_same_population_share_their_total(demo_user):
    """Funnel, new enrolments (with "earlier") and regions count the same enrolments."""
    for email in CLIENTS:
        actor = demo_user(email)
        for program in client_programs(actor=actor):
            dashboard = client_program_dashboard(actor=actor, code=program.code)
            totals = {
                key: dashboard.table(key).rows[-1][1][0]
                for key in ("funnel", "new_enrolments", "regions")
            }
            assert len({cell.value for cell in totals.values()}) == 1, totals
