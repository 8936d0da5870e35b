"""The policy simulation page's records (补偿方案测算, docs/contract.md "Policy simulation"): draft
policies saved by the fund officer, their valuation by the worker, and the adoption of a draft as
the policy of a year.

- a draft is checked by `policy.rules.parse_policy`, the parser of `load_policy`: one it would
  refuse is refused with every problem listed, before any valuation;
- `simulation_start` joins the draft's queued or running run instead of starting a second one
  (a partial unique index holds one active run per draft); the run is sent to the worker once the
  transaction commits, and publishes its progress through the cache;
- `simulation_result` is `fund.simulation.simulation_json` plus the page's tables: per level and
  per township, current beside draft (admissions, compensation, actual compensation ratio), the
  members whose current compensation reaches the cap of the year's loaded policy, and the 20
  claims whose compensation changes most;
- `draft_adopt` loads the draft as the policy of a chosen year through `policy.services.policy_load`
  (the same checks; a new revision, the earlier ones kept in the history).
"""
from __future__ import annotations

import logging
import uuid
from decimal import Decimal

import numpy as np
from celery import shared_task
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as BrokerUnavailable

from claims.models import Claim
from claims.rules import value_claim
from claims.simulation import (
    ClaimColumns,
    Valued,
    cap_order,
    exact_sum,
    fen,
    members_reaching,
    read_year,
    summarise,
    value_columns,
    yuan,
)
from core import jobs
from core.errors import NcmsError
from enrollment.models import Enrollment
from places.models import Township
from policy.models import PolicyVersion
from policy.rules import CATEGORIES, DELIVERY_TYPES, LEVELS, Policy, parse_policy
from policy.services import policy_load

from . import rules
from .models import PolicyDraft, SimulationRun
from .simulation import months_gone, simulation_json

log = logging.getLogger(__name__)

PROGRESS_TIMEOUT = 3600
SIMULATION_LOCK_CLASS = 70703  # first key of a run's advisory lock (second: the run's id)
INTERRUPTED_DISPLAY = gettext_lazy("已中断")
INTERRUPTED = "测算中断（处理测算的后台进程意外停止），已重新开始测算"
TOP_CHANGES = 20
ENQUEUE_FAILED = "任务队列暂时无法连接，测算未开始，请稍后重试"


# --- drafts -----------------------------------------------------------------------------------


def draft_create(*, name: str, base_year: int, document: dict, assumptions: dict | None = None,
                 user=None) -> PolicyDraft:
    """A saved draft; raises `policy.rules.PolicyInvalid` (every problem) having written nothing."""
    parse_policy(document)
    return PolicyDraft.objects.create(name=name, base_year=base_year, document=document,
                                      assumptions=assumptions or {}, created_by=user)


def draft_update(*, draft: PolicyDraft, name: str, base_year: int, document: dict, assumptions: dict,
                 user=None) -> PolicyDraft:
    """The draft changed, its earlier version kept in its history; raises PolicyInvalid (every
    problem) having written nothing. Its runs keep what they valued (`SimulationRun.document`)."""
    parse_policy(document)
    draft.name, draft.base_year, draft.document, draft.assumptions = name, base_year, document, assumptions
    draft._history_user = user
    draft._change_reason = "修改"
    draft.save()
    return draft


def draft_adopt(*, draft: PolicyDraft, year: int, user=None) -> PolicyVersion:
    """The draft loaded as the policy of `year` by `policy_load` (its checks; a new revision)."""
    document = {**draft.document, "year": year}
    return policy_load(data=document, user=user)


# --- runs -------------------------------------------------------------------------------------


def progress_key(run_id: int) -> str:
    return f"simulation:{run_id}:progress"


def progress_write(run_id: int, percent: int) -> None:
    cache.set(progress_key(run_id), percent, PROGRESS_TIMEOUT)


def progress_read(run: SimulationRun) -> dict:
    """The run's progress for the page's bar; a run whose worker died says "interrupted"."""
    finished = run.status in (SimulationRun.Status.DONE, SimulationRun.Status.FAILED)
    if run_interrupted(run):
        return {"status": "interrupted", "status_display": str(INTERRUPTED_DISPLAY), "percent": run.progress,
                "finished": False, "interrupted": True}
    percent = 100 if run.status == SimulationRun.Status.DONE else (
        run.progress if finished else (cache.get(progress_key(run.pk)) or run.progress))
    return {"status": run.status, "status_display": str(run.get_status_display()), "percent": percent,
            "finished": finished, "interrupted": False}


def run_name(run_id: int) -> str:
    """The run's name for its heartbeat (core.jobs)."""
    return f"simulation:{run_id}"


def run_lock(run_id: int) -> tuple[int, int]:
    """The advisory lock a worker holds on the run while it values it (PostgreSQL)."""
    return (SIMULATION_LOCK_CLASS, run_id)


def run_interrupted(run: SimulationRun | None) -> bool:
    """A run a worker took and then died on: "running", its heartbeat expired and (PostgreSQL) its
    lock free. Asking for the draft again starts a new run; a redelivered task values it again."""
    if run is None or run.status != SimulationRun.Status.RUNNING:
        return False
    return jobs.job_lost(run_name(run.pk), run_lock(run.pk))


def active_run(draft: PolicyDraft) -> SimulationRun | None:
    return draft.runs.filter(status__in=[SimulationRun.Status.QUEUED, SimulationRun.Status.RUNNING]).first()


def simulation_start(*, draft: PolicyDraft, user=None) -> tuple[SimulationRun, bool]:
    """(run, started): the draft's active run when there is one (joined), else a new queued run
    sent to the worker on commit. The draft is checked first: a refused draft starts nothing."""
    parse_policy(draft.document)
    running = active_run(draft)
    if running is not None:
        if not run_interrupted(running):
            return running, False
        # its worker died: it ends, failed, and a new run starts
        SimulationRun.objects.filter(pk=running.pk, status=SimulationRun.Status.RUNNING).update(
            status=SimulationRun.Status.FAILED, message=INTERRUPTED, finished_at=timezone.now())
        jobs.forget(run_name(running.pk))
    try:
        with transaction.atomic():
            run = SimulationRun.objects.create(draft=draft, created_by=user, task_id=str(uuid.uuid4()),
                                               document=draft.document, assumptions=draft.assumptions)
    except IntegrityError:  # started by someone else meanwhile: join theirs
        return active_run(draft), False
    run_id, task_id = run.pk, run.task_id
    transaction.on_commit(lambda: simulation_enqueue(run_id, task_id))
    return run, True


def simulation_run_here(*, draft: PolicyDraft, user=None) -> SimulationRun:
    """Value the draft in this process rather than by the worker (the demo county): the run is
    recorded as the worker would record it."""
    parse_policy(draft.document)
    run = SimulationRun.objects.create(draft=draft, created_by=user, document=draft.document,
                                       assumptions=draft.assumptions)
    simulation_execute(run.pk)
    run.refresh_from_db()
    return run


def simulation_enqueue(run_id: int, task_id: str) -> bool:
    try:
        simulation_task.apply_async((run_id,), task_id=task_id, ignore_result=True)
    except BrokerUnavailable as exc:
        log.warning("simulation %s: the task queue is unavailable (%s)", run_id, type(exc).__name__)
        SimulationRun.objects.filter(pk=run_id, status=SimulationRun.Status.QUEUED).update(
            status=SimulationRun.Status.FAILED, message=ENQUEUE_FAILED, finished_at=timezone.now())
        return False
    return True


def simulation_cancel(run: SimulationRun) -> bool:
    """Cancel a queued or running run: its row goes, and with it anything it would have left; a
    worker already valuing it writes nothing (its updates name the row). False when it has ended."""
    deleted, _ = SimulationRun.objects.filter(
        pk=run.pk, status__in=[SimulationRun.Status.QUEUED, SimulationRun.Status.RUNNING]).delete()
    cache.delete(progress_key(run.pk))
    return bool(deleted)


@shared_task(name="fund.simulation_run")
def simulation_task(run_id: int) -> str | None:
    simulation_execute(run_id)
    return SimulationRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


def simulation_execute(run_id: int) -> None:
    """Value the run's draft; the result, or the refusal, is written on the run. A queued run is
    taken; a running one only when its worker died (the task delivered again): then it is valued
    again from the start. The run beats (core.jobs.heartbeat) before it is seen running, and
    holds its lock on PostgreSQL, so a run is never taken for lost while a worker values it."""
    name = run_name(run_id)
    stale = SimulationRun.objects.filter(pk=run_id, status=SimulationRun.Status.RUNNING).first()
    if stale is not None and not run_interrupted(stale):
        return  # another worker values it
    with jobs.heartbeat(name), jobs.advisory_lock(run_lock(run_id)):
        now = timezone.now()
        if stale is None:
            taken = SimulationRun.objects.filter(pk=run_id, status=SimulationRun.Status.QUEUED).update(
                status=SimulationRun.Status.RUNNING, started_at=now, progress=0)
        else:
            log.warning("simulation %s: its worker died; valued again", run_id)
            taken = SimulationRun.objects.filter(pk=run_id, status=SimulationRun.Status.RUNNING,
                                                 started_at=stale.started_at).update(started_at=now, progress=0)
        if not taken:
            return  # already run, taken by another worker, or gone
        _simulation_value(run_id)
    cache.delete(progress_key(run_id))


def _simulation_value(run_id: int) -> None:
    run = SimulationRun.objects.select_related("draft").filter(pk=run_id).first()
    if run is None:
        return  # cancelled meanwhile
    progress_write(run_id, 5)
    # the run's row is written only while it is running: one cancelled (gone) or ended meanwhile is left
    mine = SimulationRun.objects.filter(pk=run_id, status=SimulationRun.Status.RUNNING)
    try:
        draft = run.draft
        result = simulation_result(
            document=draft.document if run.document is None else run.document, year=draft.base_year,
            assumptions=draft.assumptions if run.document is None else run.assumptions,
            progress=lambda percent: progress_write(run_id, percent))
    except NcmsError as exc:
        mine.update(status=SimulationRun.Status.FAILED, message=exc.message, finished_at=timezone.now())
    except Exception:
        log.exception("simulation %s failed", run_id)
        mine.update(status=SimulationRun.Status.FAILED, message="测算出错，请重试", finished_at=timezone.now())
    else:
        mine.update(status=SimulationRun.Status.DONE, result=result, progress=100, finished_at=timezone.now())


# --- the result -------------------------------------------------------------------------------


def _percent(text) -> Decimal:
    try:
        return Decimal(str(text or "0"))
    except ArithmeticError:
        return Decimal("0")


def _grown(amounts: np.ndarray, growth_bp: int) -> np.ndarray:
    """Fen amounts × (1 + growth), rounded half up to the fen, on integers."""
    return (amounts * (10_000 + growth_bp) + 5_000) // 10_000


def _ratio(part: int, whole: int) -> str | None:
    return None if not whole else str(rules.ratio(yuan(part), yuan(whole)))


def _rows(claims: ClaimColumns, draft_fen: np.ndarray, groups: np.ndarray, names: list[str]) -> list[dict]:
    rows = []
    for i, name in enumerate(names):
        here = groups == i
        total = exact_sum(claims.total[here])
        current, draft = exact_sum(claims.current[here]), exact_sum(draft_fen[here])
        rows.append({"name": name, "claims": int(np.count_nonzero(here)), "total_cost": str(yuan(total)),
                     "current": str(yuan(current)), "draft": str(yuan(draft)),
                     "current_ratio": _ratio(current, total), "draft_ratio": _ratio(draft, total)})
    return rows


def used_before(claims: ClaimColumns, valued: Valued) -> np.ndarray:
    """Per claim, the draft compensation of the member's earlier claims (cap order): what the
    member's cap had used when the claim was valued."""
    if not len(claims):
        return np.zeros(0, dtype=np.int64)
    order = cap_order(claims)
    paid = valued.compensation[order]
    running = np.cumsum(paid)
    member = claims.member[order]
    first = np.concatenate(([True], member[1:] != member[:-1]))
    starts = np.flatnonzero(first)
    before_member = np.concatenate(([0], running[:-1]))[starts]
    own = running - np.repeat(before_member, np.diff(np.append(starts, len(order))))
    used = np.empty_like(paid)
    used[order] = own - paid
    return used


def draft_steps(policy: Policy, claims: ClaimColumns, i: int, used_fen: int) -> dict:
    """Claim i valued by `claims.rules.value_claim` under the draft, its cap used by `used_fen`:
    the contract's breakdown, step by step, and the compensation."""
    delivery = int(claims.delivery[i])
    valuation = value_claim(
        policy=policy, level=LEVELS[int(claims.level[i])], category=CATEGORIES[int(claims.category[i])],
        total_cost=yuan(int(claims.total[i])), non_reimbursable_cost=yuan(int(claims.non_reimbursable[i])),
        referred=bool(claims.referred[i]), diagnosis=claims.diagnoses[int(claims.diagnosis[i])],
        delivery=None if delivery == 0 else DELIVERY_TYPES[delivery - 1], used_this_year=yuan(used_fen))
    return {**valuation.as_breakdown(), "compensation": str(valuation.compensation),
            "patient_pays": str(valuation.patient_pays)}


def current_members_at_cap(year: int, claims: ClaimColumns) -> int | None:
    """How many members' current compensation over the year reaches the annual cap of the year's
    loaded policy; None when the year has no policy loaded."""
    version = PolicyVersion.objects.filter(year=year).first()
    if version is None:
        return None
    return members_reaching(claims.member, claims.current, fen(version.policy().annual_cap))


def simulation_result(*, document: dict, year: int, assumptions: dict, progress=lambda percent: None) -> dict:
    """The page's figures for a draft's document and assumptions tried on scheme year `year`
    (module docstring). Raises PolicyInvalid or NcmsError."""
    policy: Policy = parse_policy(document)
    claims = read_year(year)
    if not len(claims):
        raise NcmsError(f"{year} 年度没有可测算的住院补偿（不予补偿和退回修改的不计）", code="no_claims")
    progress(30)
    growth = _percent(assumptions.get("cost_growth"))
    change = _percent(assumptions.get("participation_change"))
    if growth:
        bp = int((growth * 100).to_integral_value())
        claims.total = _grown(claims.total, bp)
        claims.non_reimbursable = _grown(claims.non_reimbursable, bp)
    valued = value_columns(policy, claims)
    progress(70)
    participants = Enrollment.objects.filter(year=year).count()
    if change:
        participants = int((participants * (100 + change) / 100).to_integral_value())
    result = simulation_json(policy, summarise(year, claims, valued), participants=participants,
                             month=months_gone(year, timezone.localdate()))
    result["current"]["members_at_cap"] = current_members_at_cap(year, claims)
    result["assumptions"] = {"cost_growth": str(growth), "participation_change": str(change)}
    result["by_level"] = _rows(claims, valued.compensation, claims.level, list(LEVELS))
    # by the claim's own township (the member's when it was made), as the fund report counts it
    ids, groups = np.unique(claims.township, return_inverse=True)
    names = dict(Township.objects.filter(pk__in=ids.tolist()).values_list("pk", "name"))
    rows = _rows(claims, valued.compensation, groups, [names[int(pk)] for pk in ids])
    result["by_township"] = sorted(rows, key=lambda row: row["name"])
    change_fen = valued.compensation - claims.current
    top = np.argsort(-np.abs(change_fen), kind="stable")[:TOP_CHANGES]
    ids = [int(claims.claim_id[i]) for i in top]
    used = used_before(claims, valued)
    facts = {pk: (invoice, name) for pk, invoice, name in
             Claim.objects.filter(pk__in=ids).values_list("pk", "invoice_no", "member__name")}
    result["top_changes"] = [
        {"claim": int(claims.claim_id[i]), "invoice": facts[int(claims.claim_id[i])][0],
         "member": facts[int(claims.claim_id[i])][1], "level": LEVELS[int(claims.level[i])],
         "total_cost": str(yuan(int(claims.total[i]))), "current": str(yuan(int(claims.current[i]))),
         "draft": str(yuan(int(valued.compensation[i]))), "change": str(yuan(int(change_fen[i]))),
         "steps": draft_steps(policy, claims, int(i), int(used[i]))}
        for i in top]
    progress(95)
    return result
