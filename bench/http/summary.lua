-- SPDX-License-Identifier: MIT
-- summary.lua - wrk's figures as one line of JSON (bench/http/run reads it):
-- requests per second, latency percentiles in ms, non-2xx answers and
-- socket errors.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'{"requests":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
		'"non2xx":%d,"socket_errors":%d}\n',
		summary.requests, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		latency.max / 1000, e.status,
		e.connect + e.read + e.write + e.timeout))
end
