"""Several desktops ("seats") on one database: real processes with their own engines.

``run_together(jobs, url, env)`` starts one spawned process per job, lets each
open the database and wire its services, then releases them all at once from a
barrier, so they really race. A job is the name of a function in ``JOBS``; its
environment comes from ``tests.support.agents.agent_env``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import traceback

BARRIER_TIMEOUT = 60
AUTOMATION = "Reminder"


def _enrol_everyone(services) -> None:  # type: ignore[no-untyped-def]
    """`trustpager automations enroll Reminder --all`, through the command's own function."""
    from trustpager_desktop.commands.automations import enroll_cmd

    args = argparse.Namespace(name=AUTOMATION, all=True, tag=None, stage=None, phone=None)
    enroll_cmd(args, services)


def _fire_schedules(services) -> None:  # type: ignore[no-untyped-def]
    """What a desktop's runner does when the automation's schedule falls due."""
    from trustpager_desktop.runtime.automation_runner import AutomationRunner

    AutomationRunner(services).run_schedules()


JOBS = {"enrol-everyone": _enrol_everyone, "fire-schedules": _fire_schedules}


def _seat(job: str, url: str, env: dict[str, str], barrier) -> None:  # type: ignore[no-untyped-def]
    os.environ.update(env)
    from trustpager_desktop.services import AppServices

    services = AppServices.open(url)
    try:
        barrier.wait(BARRIER_TIMEOUT)
        JOBS[job](services)
    except BaseException:
        traceback.print_exc()
        raise
    finally:
        services.close()


def run_together(jobs: list[str], url: str, env: dict[str, str]) -> list[int]:
    """Run each job in its own process, released together; returns their exit codes."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    processes = [context.Process(target=_seat, args=(job, url, env, barrier)) for job in jobs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(BARRIER_TIMEOUT * 2)
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
    return [process.exitcode for process in processes]
