"""The floor of an HTTP request on this machine: a bare FastAPI endpoint under uvicorn, as
the services run (``bench/request_cost.py`` starts it and measures its CPU per request)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}
