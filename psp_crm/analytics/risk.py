"""Risk profiles: k-means clusters of enrolments on non-identifying features, versioned.

Inputs never include identity fields: no name, code, contact, address, exact birth date or free
text. Age enters as a ten-year band, place as nothing finer than "lives in the provider's main
territory or not". A program maps clusters to ``Enrolment.risk_profile`` segments in its
``ProgramAnalyticsSettings.risk_segments``; without a mapping nothing is written.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from sklearn.cluster import KMeans

from ..models import Enrolment, Program, RiskModelVersion
from .adherence import dose_timing_for_enrolments
from .kpis import analytics_settings_for

EARLY_WEEKS = 4
ROUTES = ("tablet", "injection", "infusion")
FEATURES = (
    "age_band",
    "route_tablet",
    "route_injection",
    "route_infusion",
    "early_adherence",
    "missed_activity_share",
    "outside_main_territory",
)
# Identity fields that must never be features (a test checks FEATURES against it).
IDENTITY_FIELDS = frozenset(
    {"first_name", "last_name", "code", "birth_date", "fiscal_code", "phone", "email", "address"}
)


@dataclass(frozen=True)
class FeatureRows:
    ids: list[int]
    matrix: np.ndarray


def _age_band(birth: datetime.date | None, on: datetime.date) -> float:
    if birth is None:
        return np.nan
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return float(min(years // 10, 9))


def enrolment_features(enrolments: list[Enrolment], *, today: datetime.date) -> FeatureRows:
    """The feature matrix (rows: enrolments in order; columns: ``FEATURES``)."""
    ids = [e.pk for e in enrolments]
    by_start: dict[datetime.date, list[int]] = defaultdict(list)
    for e in enrolments:
        t0 = e.therapy_start_date or e.start_date
        if t0 and t0 + datetime.timedelta(weeks=EARLY_WEEKS) <= today:
            by_start[t0].append(e.pk)
    early: dict[int, float | None] = {}
    for t0, group in by_start.items():  # one query per distinct therapy start date
        end = t0 + datetime.timedelta(weeks=EARLY_WEEKS) - datetime.timedelta(days=1)
        for eid, timing in dose_timing_for_enrolments(group, start=t0, end=end).items():
            early[eid] = timing.adherence
    activity = (
        Enrolment.objects.filter(pk__in=ids)
        .annotate(
            n_act=Count("activities", filter=Q(activities__status__in=("done", "missed"))),
            n_missed=Count("activities", filter=Q(activities__status="missed")),
        )
        .values_list("pk", "n_act", "n_missed")
    )
    missed = {pk: (m / n if n else np.nan) for pk, n, m in activity}
    territories = defaultdict(int)
    for e in enrolments:
        territories[e.patient.territory] += 1
    main = max(territories, key=territories.get) if territories else ""
    rows = []
    for e in enrolments:
        form = e.product.form if e.product_id else ""
        rows.append(
            [
                _age_band(e.patient.birth_date, today),
                *(1.0 if form == route else 0.0 for route in ROUTES),
                np.nan if early.get(e.pk) is None else early[e.pk],
                missed.get(e.pk, np.nan),
                0.0 if e.patient.territory == main else 1.0,
            ]
        )
    matrix = np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))
    return FeatureRows(ids=ids, matrix=matrix)


def _describe(mean: np.ndarray, overall: np.ndarray, size: int) -> str:
    """A cluster's profile in plain words."""
    parts = [f"{size} enrolments"]
    if not np.isnan(mean[0]):
        low = int(np.round(mean[0])) * 10
        parts.append(f"mostly aged {low}–{low + 9}")
    routes = dict(zip(ROUTES, mean[1:4], strict=True))
    route, share = max(routes.items(), key=lambda item: item[1])
    if share > 0.5:
        parts.append(f"mainly on {route}s")
    adherence, missed, away = mean[4], mean[5], mean[6]
    word = "above" if adherence >= overall[4] else "below"
    parts.append(f"early dose adherence {adherence:.0%} ({word} the average {overall[4]:.0%})")
    parts.append(f"{missed:.0%} of visits and calls missed")
    if away > 0.5:
        parts.append("most live outside the main territory")
    return "; ".join(parts) + "."


def train_risk_model(
    *, program: Program | None = None, clusters: int = 3, today: datetime.date | None = None
) -> RiskModelVersion | None:
    """Fit k-means on the program's started enrolments and store a new active model version.

    Returns None when there are fewer enrolments than ``clusters × 2``.
    """
    today = today or timezone.localdate()
    scope = Enrolment.objects.filter(status__in=("active", "suspended", "withdrawn", "completed"))
    if program is not None:
        scope = scope.filter(program=program)
    enrolments = list(scope.select_related("patient", "product").order_by("pk"))
    if len(enrolments) < clusters * 2:
        return None
    rows = enrolment_features(enrolments, today=today)
    column_mean = np.nanmean(np.where(np.isnan(rows.matrix), np.nan, rows.matrix), axis=0)
    column_mean = np.nan_to_num(column_mean, nan=0.0)
    filled = np.where(np.isnan(rows.matrix), column_mean, rows.matrix)
    scale = filled.std(axis=0)
    scale[scale == 0] = 1.0
    model = KMeans(n_clusters=clusters, n_init=10, random_state=6).fit(
        (filled - column_mean) / scale
    )
    # Clusters ordered from the highest risk (lowest early adherence, most missed) to the lowest.
    profiles = []
    for label in range(clusters):
        members = filled[model.labels_ == label]
        mean = members.mean(axis=0) if len(members) else column_mean
        profiles.append(
            {
                "cluster": label,
                "size": len(members),
                "means": {name: round(float(v), 3) for name, v in zip(FEATURES, mean, strict=True)},
                "words": _describe(mean, column_mean, len(members)),
                "risk_score": round(float(mean[5] - mean[4]), 3),
            }
        )
    ranked = sorted(profiles, key=lambda p: -p["risk_score"])
    suggestion = ["high", "medium", "low"] if clusters == 3 else []
    for position, profile in enumerate(ranked):
        profile["suggested_segment"] = suggestion[position] if suggestion else ""
    with transaction.atomic():
        previous = RiskModelVersion.objects.filter(program=program)
        version = (previous.aggregate(v=Max("version"))["v"] or 0) + 1
        previous.update(is_active=False)
        return RiskModelVersion.objects.create(
            program=program,
            version=version,
            n_samples=len(enrolments),
            features=list(FEATURES),
            parameters={
                "mean": column_mean.tolist(),
                "scale": scale.tolist(),
                "centroids": model.cluster_centers_.tolist(),
                "early_weeks": EARLY_WEEKS,
            },
            profiles=profiles,
        )


def predict_clusters(
    version: RiskModelVersion, enrolments: list[Enrolment], *, today: datetime.date | None = None
) -> dict[int, int]:
    """The nearest centroid of each enrolment under a stored model version."""
    today = today or timezone.localdate()
    rows = enrolment_features(enrolments, today=today)
    mean = np.array(version.parameters["mean"])
    scale = np.array(version.parameters["scale"])
    centroids = np.array(version.parameters["centroids"])
    filled = np.where(np.isnan(rows.matrix), mean, rows.matrix)
    scaled = (filled - mean) / scale
    distances = ((scaled[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return dict(zip(rows.ids, (int(i) for i in distances.argmin(axis=1)), strict=True))


def apply_risk_segments(version: RiskModelVersion) -> int:
    """Write ``risk_profile`` of the program's open enrolments from its cluster → segment map.

    Nothing is written unless the program has mapped clusters to segments. Returns rows changed.
    """
    if version.program is None:
        return 0
    mapping = analytics_settings_for(version.program).risk_segments or {}
    valid = set(Enrolment.RiskProfile.values)
    mapping = {int(k): v for k, v in mapping.items() if v in valid}
    if not mapping:
        return 0
    enrolments = list(
        version.program.enrolments.filter(status__in=Enrolment.OPEN_STATUSES).select_related(
            "patient", "product"
        )
    )
    clusters = predict_clusters(version, enrolments) if enrolments else {}
    changed = []
    for enrolment in enrolments:
        cluster = clusters.get(enrolment.pk)
        segment = mapping.get(cluster) if cluster is not None else None
        if segment and segment != enrolment.risk_profile:
            enrolment.risk_profile = segment
            changed.append(enrolment)
    Enrolment.objects.bulk_update(changed, ["risk_profile"], batch_size=500)
    return len(changed)
