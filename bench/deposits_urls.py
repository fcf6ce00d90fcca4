"""The app's URLs plus the floor: a bare Django view that inserts one row."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def floor(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (body, created_at) VALUES (%s, now()) RETURNING id",
            [request.body.decode()[:200]],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("outage_desk.urls")),
]
