from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

router = APIRouter()


class Note(BaseModel):
    text: str


NOTES = [{"id": 1, "text": "Buy milk"}, {"id": 2, "text": "Call the landlord"}]


@router.get("/health")
def health():
    return {"status": "ok"}


@router.get("/notes")
def list_notes():
    return NOTES


@router.get("/notes/{note_id}")
def get_note(note_id: int):
    for note in NOTES:
        if note["id"] == note_id:
            return note
    raise HTTPException(status_code=404, detail="not found")


@router.post("/notes", status_code=201)
def add_note(note: Note):
    item = {"id": len(NOTES) + 1, "text": note.text}
    NOTES.append(item)
    return item
