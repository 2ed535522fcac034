/*
 * search.h - the smallest plan that passes:
 *   meeshy-sim PLAN.json LOAD.json --search [--out RESULT.json]
 *
 * Over the plan's own data centres: media nodes per data centre, the
 * fewest with which every SLA row passes and no media node is busier
 * than 1/1.3 of its cores (30 % headroom); gateways per data centre, the
 * connections it serves with 30 % headroom over the plan's
 * gateway_connections (the seed's 1,000). Each candidate is a run of
 * meeshy-sim itself (`self`), so every verdict is a direct run. TURN is
 * kept as the plan has it: relayed media is not modelled. Up to `jobs`
 * runs at a time (--jobs, default the cores).
 *
 * With --descend (`descend_only`) the plan as given is the start: one
 * run to confirm it passes, then only the descent, for a search taken up
 * again from the last plan a stopped one found passing.
 */
#pragma once

#include <string>

namespace sim
{

int search_plan(const std::string &self, const std::string &plan,
		const std::string &load, unsigned jobs, bool descend_only,
		const char *out_path);

} // namespace sim
