"""What 'portside serve' keeps an eye on between deploys: Docker events, the gateway, every app's health.

Two daemon threads: one follows Docker's event stream (reconnecting when dockerd restarts) and marks apps
dirty; the other reconciles dirty apps at once, every app every ``period`` seconds, and brings a private
gateway back if its nginx died.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from portside.adapters import runtime
from portside.adapters.store import Store
from portside.core.health import DEGRADED, DOWN
from portside.ops.context import Context
from portside.ops.gateway import private_gateway, private_gateway_apps
from portside.ops.reconcile import HealthStore, reconcile_all

SETTLING_SECONDS = 1.0  # an app that is not LIVE (a replica starting, or down) is looked at again this often
WATCHED = ("start", "die", "oom", "health_status: healthy", "health_status: unhealthy", "destroy")


class Supervisor:
    def __init__(self, ctx: Context, notify: Callable[[str, str, str, str], None],
                 period: float = 10.0, gateway_period: float = 2.0, supervise_gateway: bool = True) -> None:
        self.ctx, self.notify = ctx, notify
        self.period, self.gateway_period = period, gateway_period
        self.supervise_gateway = supervise_gateway
        self.dirty: set[str] = set()
        self.everything = True  # the first pass (serve's start) covers every app
        self.failing = ""  # the last failed pass's error, until a pass succeeds
        self.unsettled: set[str] = set()  # apps not LIVE after the last pass: looked at every SETTLING_SECONDS
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._events, name="portside-events", daemon=True),
                        threading.Thread(target=self._loop, name="portside-reconciler", daemon=True)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def mark(self, app: str | None) -> None:
        with self.lock:
            if app is None:
                self.everything = True
            else:
                self.dirty.add(app)
        self.wake.set()

    # -- Docker events --------------------------------------------------------------------------------

    def _events(self) -> None:
        while not self.stopping.is_set():
            try:
                client = runtime.connect()
            except Exception:  # noqa: BLE001 - Docker is down (restarting): try again shortly
                time.sleep(1)
                continue
            self.mark(None)  # whatever happened while we were not listening
            try:
                for event in client.events(decode=True, filters={"type": "container",
                                                                 "label": f"{runtime.LABEL_ROLE}=backend"}):
                    self._event(event)
                    if self.stopping.is_set():
                        break
            except Exception:  # noqa: BLE001 - the stream ends when dockerd stops; reconnect
                pass
            finally:
                client.close()
            time.sleep(0.5)  # however the stream ended: no tight loop while dockerd shuts down

    def _event(self, event: dict[str, Any]) -> None:
        action = str(event.get("Action") or event.get("status") or "")
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        app = attributes.get(runtime.LABEL_APP)
        if not app or not action.startswith(WATCHED):
            return
        if action == "oom":
            store = Store(self.ctx.paths.db)
            try:
                detail = f"{attributes.get('name')} was killed for exceeding its memory limit; Docker restarts it"
                HealthStore(store).event(app, "oom", detail)
                self.ctx.say(f"{app}: {detail}")
                self.notify(app, "oom", "oom", detail)
            finally:
                store.close()
        self.mark(app)

    # -- reconcile and supervise ----------------------------------------------------------------------

    def _loop(self) -> None:
        last_all = last_gateway = last_settle = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if self.supervise_gateway and now - last_gateway >= self.gateway_period:
                last_gateway = now
                self._gateways()
            with self.lock:
                everything = self.everything or now - last_all >= self.period
                apps = None if everything else set(self.dirty)
                self.dirty.clear()
                self.everything = False
            if everything:
                last_all = now
            elif self.unsettled and now - last_settle >= SETTLING_SECONDS and apps is not None:
                apps |= self.unsettled  # e.g. a restarted replica: routed as soon as it answers, not at
                last_settle = now       # Docker's next health check
            if apps is None or apps:
                self.unsettled = self._pass(apps)
            self.wake.wait(min(self.gateway_period, self.period, SETTLING_SECONDS if self.unsettled else 3600))
            self.wake.clear()

    def _pass(self, apps: set[str] | None) -> set[str]:
        """Reconcile, then return the apps that are not LIVE (to look at again soon)."""
        store = Store(self.ctx.paths.db)
        try:
            self._drains(store)
            reconcile_all(self.ctx, store, self.notify, apps)
            self.failing = ""
            states = HealthStore(store)
            return {a.name for a in store.apps() if (states.state(a.name) or ("",))[0] in (DOWN, DEGRADED)}
        except Exception as exc:  # noqa: BLE001 - the supervisor must outlive one failed pass
            if repr(exc) != self.failing:  # said once, not every second while Docker is down
                self.failing = repr(exc)
                self.ctx.say(f"reconcile pass failed: {exc!r}; trying again on the next round")
            return self.unsettled
        finally:
            store.close()

    def _drains(self, store: Store) -> None:
        from portside.ops.drain import stop_due

        client = runtime.connect()
        try:
            for name in stop_due(self.ctx, store, client):
                self.ctx.say(f"drained and stopped {name}")
        finally:
            client.close()

    def _gateways(self) -> None:
        """A private gateway that serves live apps and whose nginx died is started again."""
        store = Store(self.ctx.paths.db)
        try:
            apps = private_gateway_apps(store)
        finally:
            store.close()
        if not apps:
            return
        gateway = private_gateway(self.ctx, apps[0].http_port, apps[0].https_port)
        if gateway.master_pid() is not None:
            return
        try:
            gateway.reload()  # starts the master (after nginx -t) when none runs
            self.ctx.say("the private gateway's nginx had stopped; started it again")
            self.notify(apps[0].name, "gateway down", "gateway restarted",
                        "the private gateway's nginx had stopped; portside serve started it again")
        except Exception as exc:  # noqa: BLE001 - report, retry on the next round
            self.ctx.say(f"could not restart the private gateway: {exc}")
