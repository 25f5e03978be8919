"""Example backend: a tiny board API behind portside's gateway at /api."""

from __future__ import annotations

import os
from itertools import count

from fastapi import FastAPI, HTTPException, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

app = FastAPI(title="fullstack example", docs_url="/api/docs", openapi_url="/api/openapi.json")
VERSION = os.environ.get("APP_VERSION", "1")


class CardIn(BaseModel):
    title: str


class Card(CardIn):
    id: int


_cards: dict[int, Card] = {}
_ids = count(1)


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": VERSION}


@app.get("/api/ping")
def ping() -> dict[str, str]:
    return {"pong": "ok"}


@app.get("/api/whoami")
def whoami(request: Request) -> dict[str, str | None]:
    """What the backend sees of the original request (scheme and host come from the gateway)."""
    return {"scheme": request.url.scheme, "host": request.headers.get("host"),
            "client": request.client.host if request.client else None}


@app.get("/api/cards")
def list_cards() -> list[Card]:
    return list(_cards.values())


@app.post("/api/cards", status_code=201)
def create_card(card: CardIn) -> Card:
    new = Card(id=next(_ids), title=card.title)
    _cards[new.id] = new
    return new


@app.get("/api/cards/{card_id}")
def get_card(card_id: int) -> Card:
    if card_id not in _cards:
        raise HTTPException(404, "no such card")
    return _cards[card_id]


@app.delete("/api/cards/{card_id}", status_code=204, response_class=Response)
def delete_card(card_id: int) -> Response:
    if _cards.pop(card_id, None) is None:
        raise HTTPException(404, "no such card")
    return Response(status_code=204)


@app.websocket("/api/ws/echo")
async def echo(socket: WebSocket) -> None:
    await socket.accept()
    try:
        while True:
            await socket.send_text("echo: " + await socket.receive_text())
    except WebSocketDisconnect:
        return
