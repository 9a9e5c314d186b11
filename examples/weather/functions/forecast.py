"""GET /<owner>/weather/forecast?lat=52.52&lon=13.41 -> the current temperature there."""

import json
import urllib.parse
import urllib.request

from peerhost import Response

API = "https://api.open-meteo.com/v1/forecast"


def handler(request, ctx=None):
    try:
        lat = float(request.query.get("lat", "52.52"))
        lon = float(request.query.get("lon", "13.41"))
    except ValueError:
        return Response({"error": "lat and lon must be numbers"}, status=400)
    query = urllib.parse.urlencode({"latitude": lat, "longitude": lon, "current": "temperature_2m"})
    with urllib.request.urlopen(f"{API}?{query}", timeout=5) as response:
        data = json.load(response)
    current = data.get("current", {})
    return {"latitude": lat, "longitude": lon, "temperature_c": current.get("temperature_2m"),
            "time": current.get("time")}
