import uvicorn
from fastapi import FastAPI, HTTPException

app = FastAPI()

RECIPES = [
    {"id": 1, "name": "Shakshuka"},
    {"id": 2, "name": "Pancakes"},
]


@app.get("/api/status")
def status():
    return {"ok": True}


@app.get("/api/recipes")
def recipes():
    return RECIPES


@app.get("/api/recipes/{recipe_id}")
def recipe(recipe_id: int):
    for item in RECIPES:
        if item["id"] == recipe_id:
            return item
    raise HTTPException(status_code=404)


if __name__ == "__main__":
    uvicorn.run("main:app", host="0.0.0.0", port=8080, reload=True)
