"""Certificate renewal: due when a third of the lifetime remains; a failure keeps the current certificate,
backs off, and shows in status, certs and notifications. Run by 'portside serve' and 'portside certs renew'."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portside.adapters.acme import read_cert
from portside.adapters.notify import notify_url
from portside.adapters.store import AppRecord, Store, now
from portside.core.config import TlsMode
from portside.core.errors import PortsideError
from portside.core.gateway_choice import GatewayChoice
from portside.ops.certificates import acme_due, acme_issuer, acme_pair
from portside.ops.context import Context
from portside.ops.facts import deployed_config
from portside.ops.gateway import make_gateway
from portside.ops.site import acme_dir, cert_paths

BACKOFF_FIRST = 600.0  # seconds; doubles per failure, at most a day: never a tight loop against the CA
BACKOFF_MAX = 86400.0


@dataclass(frozen=True)
class RenewResult:
    app: str
    outcome: str  # renewed | not-due | backing-off | failed | not-acme
    detail: str


def _state(store: Store, app: str) -> dict[str, Any]:
    row = store.db.execute("SELECT * FROM cert_state WHERE app=?", (app,)).fetchone()
    return dict(row) if row else {"app": app, "failures": 0, "last_error": None, "last_attempt": None,
                                  "next_attempt": 0.0, "last_renewed": None}


def _save(store: Store, state: dict[str, Any]) -> None:
    store.db.execute("INSERT OR REPLACE INTO cert_state VALUES (:app, :failures, :last_error, :last_attempt, "
                     ":next_attempt, :last_renewed)", state)


def renew_app(ctx: Context, store: Store, app: str, force: bool = False,
              clock: Callable[[], float] = time.time, ask_ca: bool = True) -> RenewResult:
    from portside.core.render.gateway import server_names

    record = store.app(app)
    if record is None or record.current_release is None:
        return RenewResult(app, "not-live", "no live release: its certificate is renewed when it is deployed")
    config = deployed_config(store, record)
    if config is None or config.tls.mode is not TlsMode.acme:
        return RenewResult(app, "not-acme", "not using tls.mode = 'acme'")
    folder = acme_dir(ctx, app)
    pair = acme_pair(ctx, app)
    names = server_names(config)
    if not force and not acme_due(pair, names):
        cert = read_cert(pair.cert)
        assert cert is not None
        suggested = acme_issuer(ctx, config).suggested_renewal(pair.cert) if ask_ca else None
        if suggested is None or suggested > dt.datetime.now(dt.UTC):
            when = min(cert.renew_at, suggested) if suggested else cert.renew_at
            return RenewResult(app, "not-due", f"next renewal {when:%Y-%m-%d %H:%M} UTC")
        ctx.say(f"  the CA suggests renewing now (ACME Renewal Information: {suggested:%Y-%m-%d %H:%M} UTC)")
    state = _state(store, app)
    if not force and clock() < state["next_attempt"]:
        return RenewResult(app, "backing-off", f"after {state['failures']} failure(s): {state['last_error']}; "
                           f"next try {dt.datetime.fromtimestamp(state['next_attempt'], dt.UTC):%H:%M} UTC")
    state["last_attempt"] = now()
    try:
        acme_issuer(ctx, config).issue(names, folder, config.tls.key_type)
        gateway = make_gateway(ctx, GatewayChoice(record.gateway_mode, record.http_port, record.https_port))
        gateway.config_test()
        gateway.reload()  # same file paths, new contents: a reload serves the new certificate, no restart
    except PortsideError as exc:
        return _failed(store, record, names, state, exc, clock)
    state.update(failures=0, last_error=None, next_attempt=0.0, last_renewed=now())
    _save(store, state)
    store.audit(app, "renew", ", ".join(names), "ok")
    return RenewResult(app, "renewed", f"new certificate for {', '.join(names)} is being served")


def _failed(store: Store, record: AppRecord, names: tuple[str, ...], state: dict[str, Any], exc: PortsideError,
            clock: Callable[[], float]) -> RenewResult:
    """Back off (doubling, up to BACKOFF_MAX), record it, and say so in the chat; the current certificate stays."""
    app = record.name
    state["failures"] += 1
    state["last_error"] = exc.message
    state["next_attempt"] = clock() + min(BACKOFF_FIRST * 2 ** (state["failures"] - 1), BACKOFF_MAX)
    _save(store, state)
    store.audit(app, "renew", ", ".join(names), f"failed: {exc.message}")
    url = notify_url(record)
    if url:
        from portside.adapters.notify import chat

        try:
            chat(url, f":warning: {app}: certificate renewal failed "
                 f"({state['failures']} in a row): {exc.message} The current certificate is still served.")
        except OSError:
            pass
    return RenewResult(app, "failed", f"{exc.message} The current certificate keeps being served.")


def renew_all(ctx: Context, store: Store, force: bool = False) -> list[RenewResult]:
    return [renew_app(ctx, store, record.name, force) for record in store.apps()
            if record.current_release is not None]


def cert_rows(ctx: Context, store: Store) -> list[dict[str, Any]]:
    """For 'portside certs' and 'status': every app's certificate, expiry, next renewal, last failure."""
    rows = []
    for record in store.apps():
        if record.current_release is None:
            continue  # nothing served: its certificate is looked at again when it is deployed
        config = deployed_config(store, record)
        if config is None or config.tls.mode is TlsMode.off:
            continue
        pair = cert_paths(ctx, config, record.app_dir)
        assert pair is not None  # TLS is on
        cert = read_cert(pair.cert)
        state = _state(store, record.name)
        rows.append({
            "app": record.name, "mode": config.tls.mode.value,
            "names": list(cert.names) if cert else [], "issuer": cert.issuer if cert else None,
            "expires": cert.not_after.isoformat() if cert else None,
            "renews": cert.renew_at.isoformat() if cert and config.tls.mode is TlsMode.acme else None,
            "days_left": round((cert.not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400, 1)
            if cert else None,
            "last_error": state["last_error"], "failures": state["failures"],
        })
    return rows
