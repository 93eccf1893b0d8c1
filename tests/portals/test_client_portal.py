"""Client portal: aggregates of the sponsor's own programs only, small cells suppressed."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from psp_crm.models import Enrolment, Patient
from psp_crm.selectors.programs import client_program_summaries, suppress, suppress_parts

NORTHWIND = "medical@northwind.example"
SOUTHWIND = "medical@southwind.example"
PATIENT_CODE = re.compile(r"PT-[A-Z0-9]{4}-[A-Z0-9]{4}")


def _no_patient_identity(html: str) -> None:
    assert not PATIENT_CODE.search(html)
    for patient in Patient.objects.all():
        assert patient.full_name not in html


def test_northwind_sees_its_programs_with_counts(signed_in):
    response = signed_in(NORTHWIND).get("/client/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Client portal — Sponsored programs" in html
    assert 'data-testid="program-summaries"' in html
    assert "MS-ADHERE" in html and "PSO-CARE" in html
    assert "RA-HOME" not in html
    _no_patient_identity(html)


def test_southwind_sees_no_northwind_program_and_gets_404(signed_in):
    client = signed_in(SOUTHWIND)
    html = client.get("/client/").content.decode()
    assert "RA-HOME" in html
    assert "MS-ADHERE" not in html and "PSO-CARE" not in html
    response = client.get("/client/programs/MS-ADHERE/")
    assert response.status_code == 404
    assert 'data-testid="error-page"' in response.content.decode()


def test_program_detail_shows_aggregates_only(signed_in):
    response = signed_in(NORTHWIND).get("/client/programs/MS-ADHERE/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Client portal — MS-ADHERE" in html
    for testid in ("status-breakdown", "module-volumes", "adverse-events"):
        assert f'data-testid="{testid}"' in html
    _no_patient_identity(html)


def test_unknown_program_is_404(signed_in):
    assert signed_in(NORTHWIND).get("/client/programs/NO-SUCH/").status_code == 404


def test_cells_follow_the_raw_counts(demo_user):
    actor = demo_user(NORTHWIND)
    summaries = client_program_summaries(actor=actor)
    assert {s.program.code for s in summaries} == {"MS-ADHERE", "PSO-CARE"}
    for summary in summaries:
        for status in ("active", "suspended", "referred", "withdrawn"):
            raw = Enrolment.objects.filter(program=summary.program, status=status).count()
            cell = summary.cells[status]
            if 0 < raw < 5:
                assert cell.suppressed and str(cell) == "<5"
            else:
                assert cell.value in (raw, None)  # None only by secondary suppression


def test_a_lone_small_part_of_a_shown_total_takes_a_second_part_with_it():
    cells = suppress_parts({"active": 7, "suspended": 2, "consented": 0, "completed": 0})
    assert cells["total"].value == 9
    assert cells["suspended"].suppressed
    assert cells["active"].suppressed  # or 9 - 7 - 0 - 0 would give the hidden 2 away
    assert cells["consented"].value == 0


def test_parts_without_small_cells_are_all_shown():
    cells = suppress_parts({"a": 7, "b": 5, "c": 0})
    assert [cells[k].value for k in ("a", "b", "c", "total")] == [7, 5, 0, 12]
    two_small = suppress_parts({"a": 9, "b": 2, "c": 3})
    assert two_small["a"].value == 9 and two_small["b"].suppressed and two_small["c"].suppressed


def test_small_cells_are_suppressed():
    assert str(suppress(0)) == "0"
    assert str(suppress(1)) == "<5"
    assert str(suppress(4)) == "<5"
    assert str(suppress(5)) == "5"
    assert suppress(3).value is None


@override_settings(PSP_CLIENT_MIN_CELL=10)
def test_threshold_comes_from_settings():
    assert str(suppress(9)) == "<10"
    assert str(suppress(10)) == "10"


@pytest.mark.parametrize("email", [NORTHWIND])
def test_client_page_query_count_is_constant(signed_in, email, django_assert_max_num_queries):
    client = signed_in(email)
    with django_assert_max_num_queries(12):
        client.get("/client/")


# --- the dashboard, CSV and printable report ------------------------------------------------


def test_program_page_has_every_dashboard_block_with_chart_and_table(signed_in):
    html = signed_in(NORTHWIND).get("/client/programs/MS-ADHERE/").content.decode()
    for key in ("funnel", "new_enrolments", "pdc_distribution", "pdc_trend", "services"):
        assert f'data-testid="chart-{key}"' in html
        assert f'data-testid="table-{key}"' in html
    for key in ("on_time", "adverse_events", "regions"):
        assert f'data-testid="table-{key}"' in html
    assert 'data-testid="pdc-share"' in html
    assert '<script type="text/javascript">' not in html  # pygal's script is stripped
    _no_patient_identity(html)


def test_csv_export_is_an_attachment_of_suppressed_cells(signed_in):
    response = signed_in(NORTHWIND).get("/client/programs/MS-ADHERE/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert body.startswith("program,table,row,column,value")
    assert "MS-ADHERE,pdc_distribution," in body
    _no_patient_identity(body)


def test_printable_report_renders(signed_in):
    response = signed_in(NORTHWIND).get("/client/programs/PSO-CARE/report/")
    assert response.status_code == 200
    assert 'data-testid="report-title"' in response.content.decode()


def test_contract_volumes_are_compared(signed_in):
    from psp_crm.models import Program, ProgramAnalyticsSettings

    program = Program.objects.get(code="MS-ADHERE")
    ProgramAnalyticsSettings.objects.create(program=program, contract_volumes={"infusions": 100})
    html = signed_in(NORTHWIND).get("/client/programs/MS-ADHERE/").content.decode()
    assert '<td class="text-end">100</td>' in html


def test_dashboard_query_count_is_bounded(signed_in, django_assert_max_num_queries):
    client = signed_in(NORTHWIND)
    with django_assert_max_num_queries(60):
        client.get("/client/programs/MS-ADHERE/")
