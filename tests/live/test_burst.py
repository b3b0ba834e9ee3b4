"""A room pressing "send" together: many more simultaneous submissions to one session than
the server has threads must all be stored and answered (they used to stall the process:
waiting requests held every thread the lock holder needed to commit)."""

import asyncio

import httpx

from tests.conftest import create_workshop
from tests.live.conftest import LiveServer

BURST = 120  # three times the thread pool


def test_a_burst_of_submissions_to_one_session_is_answered(live_server: LiveServer) -> None:
    workshop = create_workshop(live_server.client, participants=40)  # type: ignore[arg-type]
    workshop.phase("brainstorm")
    url = live_server.url + workshop.url("/contributions")

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def send(i: int) -> int:
                response = await client.post(
                    url,
                    json={"challenge_id": workshop.challenges[i % 2]["id"], "text": f"Idea {i}"},
                    headers=workshop.p(i % 40),
                )
                return response.status_code

            return await asyncio.gather(*(send(i) for i in range(BURST)))

    statuses = asyncio.run(asyncio.wait_for(burst(), 90))
    assert statuses == [201] * BURST
    listed = live_server.client.get(workshop.url("/contributions"), headers=workshop.f).json()
    assert len(listed) == BURST
