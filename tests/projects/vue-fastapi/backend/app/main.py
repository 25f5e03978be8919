from fastapi import FastAPI, WebSocket

from app.routers import notes

app = FastAPI(title="Notes API")
app.include_router(notes.router, prefix="/api")


@app.websocket("/api/ws/notes")
async def notes_feed(websocket: WebSocket):
    await websocket.accept()
    while True:
        text = await websocket.receive_text()
        await websocket.send_text(f"echo: {text}")
