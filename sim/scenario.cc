/*
 * scenario.cc - reading what meeshy-sim plays (scenario.h).
 */
#include "scenario.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern "C" {
#include <cjson/cJSON.h>
}

namespace sim
{

double json_num(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

namespace
{

const cJSON *item(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

std::string dir_of(const std::string &path)
{
	size_t slash = path.rfind('/');
	return slash == std::string::npos ? std::string()
					  : path.substr(0, slash + 1);
}

cJSON *read_json(const std::string &path, std::string &why)
{
	std::ifstream f(path);
	std::stringstream ss;
	if (!f) {
		why = "cannot read " + path;
		return nullptr;
	}
	ss << f.rdbuf();
	cJSON *j = cJSON_Parse(ss.str().c_str());
	if (!cJSON_IsObject(j)) {
		why = path + " is not a JSON object";
		cJSON_Delete(j);
		return nullptr;
	}
	return j;
}

/* A file named by a file is found beside it: its path is made whole
 * before the files are laid over each other. */
void anchor(cJSON *o, const char *k, const std::string &dir)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (cJSON_IsString(v) && v->valuestring[0] != '/')
		cJSON_SetValuestring(v, (dir + v->valuestring).c_str());
}

/* src's keys over dst's; objects are laid over key by key */
void overlay(cJSON *dst, const cJSON *src)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, src)
	{
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, it->string);
		if (cJSON_IsObject(d) && cJSON_IsObject(it)) {
			overlay(d, it);
			continue;
		}
		cJSON *copy = cJSON_Duplicate(it, 1);
		if (d)
			cJSON_ReplaceItemInObjectCaseSensitive(dst, it->string,
							       copy);
		else
			cJSON_AddItemToObject(dst, it->string, copy);
	}
}

/* measured by bench/media_cost.c */
bool load_calibration(const char *path, Scenario &s, std::string &why)
{
	cJSON *cj = read_json(path, why);
	if (!cj)
		return false;
	if (!cJSON_IsNumber(item(cj, "rx_us")) ||
	    !cJSON_IsNumber(item(cj, "tx_us"))) {
		why = std::string("media_node.calibration: ") + path +
		      " has no rx_us and tx_us";
		cJSON_Delete(cj);
		return false;
	}
	/* the router's work and the socket I/O around it */
	s.rx_us = json_num(cj, "rx_us", s.rx_us) + json_num(cj, "io_rx_us", 0);
	s.tx_us = json_num(cj, "tx_us", s.tx_us) + json_num(cj, "io_tx_us", 0);
	s.cost_bytes = json_num(cj, "bytes", s.cost_bytes);
	if (cJSON_IsNumber(item(cj, "rx_peek_us")))
		s.peek_us = json_num(cj, "rx_peek_us", 0) +
			    json_num(cj, "io_rx_us", 0);
	const cJSON *sm = item(cj, "small");
	if (cJSON_IsObject(sm)) {
		s.rx_small_us =
			json_num(sm, "rx_us", 0) + json_num(sm, "io_rx_us", 0);
		s.tx_small_us =
			json_num(sm, "tx_us", 0) + json_num(sm, "io_tx_us", 0);
		s.small_bytes = json_num(sm, "bytes", s.small_bytes);
	}
	s.dtls_server_ms = json_num(cj, "dtls_server_ms", s.dtls_server_ms);
	s.dtls_client_ms = json_num(cj, "dtls_client_ms", s.dtls_client_ms);
	cJSON_Delete(cj);
	return true;
}

bool load_media_node(const cJSON *j, Scenario &s, std::string &why)
{
	const cJSON *mn = item(j, "media_node");
	const cJSON *cal = item(mn, "calibration");
	if (cJSON_IsString(cal) && !load_calibration(cal->valuestring, s, why))
		return false;
	/* numbers given in the scenario are the same at every size */
	if (cJSON_IsNumber(item(mn, "rx_us")))
		s.rx_small_us = -1;
	if (cJSON_IsNumber(item(mn, "tx_us")))
		s.tx_small_us = -1;
	s.rx_us = json_num(mn, "rx_us", s.rx_us);
	s.tx_us = json_num(mn, "tx_us", s.tx_us);
	s.rx_small_us = json_num(mn, "rx_small_us", s.rx_small_us);
	s.tx_small_us = json_num(mn, "tx_small_us", s.tx_small_us);
	s.dtls_server_ms = json_num(mn, "dtls_server_ms", s.dtls_server_ms);
	s.dtls_client_ms = json_num(mn, "dtls_client_ms", s.dtls_client_ms);
	s.handshake_core = cJSON_IsTrue(item(mn, "handshake_core"));
	s.wake_us = json_num(mn, "wake_us", s.wake_us);
	if (s.wake_us < 0) {
		why = "media_node.wake_us " + std::to_string(s.wake_us) +
		      ": must be a number of us >= 0";
		return false;
	}
	s.queue_packets =
		(unsigned)json_num(mn, "queue_packets", s.queue_packets);
	s.cores = std::max(1u, (unsigned)json_num(mn, "cores", s.cores));
	s.dc_delay_ms =
		json_num(item(j, "datacenter"), "delay_ms", s.dc_delay_ms);
	const cJSON *fail = item(j, "fail");
	const cJSON *fn = item(fail, "media_node");
	s.fail_node = cJSON_IsString(fn) && !strcmp(fn->valuestring, "busiest")
			      ? FAIL_BUSIEST_SAMPLED
			      : (int)json_num(fail, "media_node", -1);
	s.fail_at_s = json_num(fail, "at_s", 0);
	s.fail_detect_s = json_num(fail, "detect_s", s.fail_detect_s);
	return true;
}

void load_calls(const cJSON *j, Scenario &s)
{
	const cJSON *c = item(j, "calls");
	s.calls = (unsigned)json_num(c, "count", s.calls);
	s.participants = (unsigned)json_num(c, "participants", 0);
	s.two_share = json_num(c, "two_person_share", s.two_share);
	s.group_mean = json_num(c, "group_mean", s.group_mean);
	s.cross_region_share =
		json_num(c, "cross_region_share", s.cross_region_share);
	s.same_metro_share =
		json_num(c, "same_metro_share", s.same_metro_share);
	s.arrival_window_s =
		json_num(c, "arrival_window_s", s.arrival_window_s);
	s.mean_call_s = json_num(c, "mean_duration_s", s.mean_call_s);
	s.join_spacing_s = json_num(c, "join_spacing_s", s.join_spacing_s);
	s.leave_spacing_s = json_num(c, "leave_spacing_s", s.leave_spacing_s);
	const cJSON *cl = item(j, "clients");
	s.client_tx_us = json_num(cl, "tx_us", s.client_tx_us);
	s.request_gap_ms = json_num(cl, "request_gap_ms", s.request_gap_ms);
	s.client_serial_handshakes = (unsigned)json_num(
		cl, "serial_handshakes", s.client_serial_handshakes);
}

void load_media(const cJSON *j, Scenario &s)
{
	const cJSON *m = item(j, "media");
	s.audio_bytes = json_num(m, "audio_bytes", s.audio_bytes);
	s.video_fps = json_num(m, "video_fps", s.video_fps);
	s.consume_layer =
		(unsigned)json_num(m, "consume_layer", s.consume_layer);
	s.media_sample_share =
		json_num(m, "sample_share", s.media_sample_share);
	s.region_sampled = (unsigned)std::max(
		0.0, json_num(m, "region_sampled", s.region_sampled));
	s.turn_share = json_num(m, "turn_share", s.turn_share);
	const cJSON *vk = item(m, "video_kbps");
	for (int i = 0; i < 3 && cJSON_IsArray(vk); i++)
		s.video_kbps[i] =
			cJSON_GetArrayItem(vk, i)
				? cJSON_GetArrayItem(vk, i)->valuedouble
				: s.video_kbps[i];
}

void load_signaling(const cJSON *j, Scenario &s)
{
	const cJSON *g = item(j, "gateway");
	s.gateway_ms = json_num(g, "service_ms", s.gateway_ms);
	s.signaling_rounds =
		json_num(g, "signaling_rounds", s.signaling_rounds);
	s.sfu_rounds_fixed =
		(unsigned)json_num(g, "sfu_rounds_fixed", s.sfu_rounds_fixed);
	s.sfu_rounds_per_peer = (unsigned)json_num(g, "sfu_rounds_per_peer",
						   s.sfu_rounds_per_peer);
	s.sfu_from = (unsigned)json_num(g, "sfu_from", s.sfu_from);
	s.gateway_on_media = cJSON_IsTrue(item(g, "on_media_node"));
	const cJSON *sla = item(j, "sla_p95_ms");
	s.sla_join_ms = json_num(sla, "join", s.sla_join_ms);
	s.sla_p2p_rtt_ms = json_num(sla, "p2p_rtt", s.sla_p2p_rtt_ms);
	s.sla_sfu_rtt_ms = json_num(sla, "sfu_rtt", s.sla_sfu_rtt_ms);
	s.sla_event_ms = json_num(sla, "event", s.sla_event_ms);
	s.sla_switch_ms = json_num(sla, "mode_switch", s.sla_switch_ms);
}

/* A star: every region's clients at one metro, the data centre there. */
bool load_star(const cJSON *j, Scenario &s, std::string &why)
{
	const cJSON *r;
	s.metros = {"core"};
	s.rtt_ms = {{0}};
	cJSON_ArrayForEach(r, item(j, "regions"))
	{
		const cJSON *rn = item(r, "name");
		Region g{cJSON_IsString(rn) ? rn->valuestring : "",
			 json_num(r, "share", 1),
			 json_num(r, "delay_ms", 10),
			 json_num(r, "jitter_ms", 0),
			 json_num(r, "loss", 0),
			 json_num(r, "mbps", 50),
			 {0},
			 {},
			 0};
		s.regions.push_back(g);
	}
	if (s.regions.empty()) {
		why = "regions: at least one is needed";
		return false;
	}
	s.media_nodes = (unsigned)json_num(j, "media_nodes", s.media_nodes);
	s.datacentres = {{"dc", 0, 1, s.media_nodes, 0}};
	return true;
}

int metro_index(const Scenario &s, const cJSON *name)
{
	if (!cJSON_IsString(name))
		return -1;
	for (size_t i = 0; i < s.metros.size(); i++)
		if (s.metros[i] == name->valuestring)
			return (int)i;
	return -1;
}

/* The world's metros (in[m]: metro m's region) and the round trip
 * between every two (each pair given once). */
bool load_metros(const cJSON *w, const char *path, Scenario &s,
		 std::vector<std::string> &in, std::string &why)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, item(w, "metros"))
	{
		const cJSON *nm = item(it, "name"), *r = item(it, "region");
		s.metros.push_back(cJSON_IsString(nm) ? nm->valuestring : "");
		in.push_back(cJSON_IsString(r) ? r->valuestring : "");
	}
	size_t n = s.metros.size();
	s.rtt_ms.assign(n, std::vector<double>(n, -1));
	for (size_t i = 0; i < n; i++)
		s.rtt_ms[i][i] = 0;
	cJSON_ArrayForEach(it, item(w, "rtt_ms"))
	{
		int a = metro_index(s, cJSON_GetArrayItem(it, 0));
		int b = metro_index(s, cJSON_GetArrayItem(it, 1));
		const cJSON *ms = cJSON_GetArrayItem(it, 2);
		if (a < 0 || b < 0 || !cJSON_IsNumber(ms)) {
			char *t = cJSON_PrintUnformatted(it);
			why = std::string(path) + ": rtt_ms: " + t +
			      " is not [metro, metro, ms]";
			free(t);
			return false;
		}
		s.rtt_ms[a][b] = s.rtt_ms[b][a] = ms->valuedouble;
	}
	for (size_t a = 0; a < n; a++)
		for (size_t b = 0; b < n; b++)
			if (s.rtt_ms[a][b] < 0) {
				why = std::string(path) +
				      ": rtt_ms: no round trip between " +
				      s.metros[a] + " and " + s.metros[b];
				return false;
			}
	return true;
}

/* A region of the world: its metros, and its access networks (one of
 * its own delay_ms when it names none). */
Region world_region(const cJSON *it, const cJSON *tech,
		    const std::vector<std::string> &in)
{
	const cJSON *nm = item(it, "name"), *a;
	Region g{cJSON_IsString(nm) ? nm->valuestring : "",
		 0,
		 0,
		 0,
		 0,
		 json_num(it, "mbps", 50),
		 {},
		 {},
		 json_num(it, "packet_jitter_ms", 0)};
	for (size_t m = 0; m < in.size(); m++)
		if (in[m] == g.name)
			g.metros.push_back((unsigned)m);
	cJSON_ArrayForEach(a, item(it, "access"))
	{
		const cJSON *t = item(tech, a->string);
		g.access.push_back(
			{a->string, a->valuedouble,
			 json_num(t, "rtt_ms", 20) / 2,
			 json_num(t, "loss", 0) + json_num(it, "loss", 0)});
	}
	if (g.access.empty())
		g.access.push_back({"default", 1, json_num(it, "delay_ms", 10),
				    json_num(it, "loss", 0)});
	return g;
}

/* The world file: metros, their round trips, each region's access. */
bool load_world(const char *path, Scenario &s, std::vector<std::string> &in,
		std::string &why)
{
	cJSON *w = read_json(path, why);
	const cJSON *it;
	bool ok = w && load_metros(w, path, s, in, why);
	const cJSON *regions = ok ? item(w, "regions") : nullptr;
	cJSON_ArrayForEach(it, regions)
		s.regions.push_back(world_region(it, item(w, "access"), in));
	cJSON_Delete(w);
	return ok;
}

/* The plan's data centres, and the load's participants per region. */
bool load_plan(const cJSON *j, Scenario &s, std::string &why)
{
	const cJSON *it;
	std::vector<std::string> in;
	if (!load_world(item(j, "world")->valuestring, s, in, why))
		return false;
	cJSON_ArrayForEach(it, item(j, "datacentres"))
	{
		int m = metro_index(s, item(it, "metro"));
		const cJSON *nm = item(it, "name");
		if (m < 0) {
			char *t = cJSON_PrintUnformatted(item(it, "metro"));
			why = std::string("datacentres: metro ") +
			      (t ? t : "null") +
			      " is not one of the world's metros";
			free(t);
			return false;
		}
		s.datacentres.push_back(
			{cJSON_IsString(nm) ? nm->valuestring : s.metros[m],
			 (unsigned)m, (unsigned)json_num(it, "gateways", 1),
			 (unsigned)json_num(it, "media_nodes", 0),
			 (unsigned)json_num(it, "turn", 0)});
	}
	if (s.datacentres.empty()) {
		why = "datacentres: at least one is needed";
		return false;
	}
	s.media_nodes = 0;
	for (const Datacentre &d : s.datacentres)
		s.media_nodes += d.media_nodes;
	s.redis = (unsigned)json_num(j, "redis", 0);
	s.gateway_connections =
		json_num(j, "gateway_connections", s.gateway_connections);
	s.turn_sessions = json_num(j, "turn_sessions", s.turn_sessions);
	const cJSON *p = item(j, "prices");
	s.prices.gateway = json_num(p, "gateway", s.prices.gateway);
	s.prices.media_node = json_num(p, "media_node", s.prices.media_node);
	s.prices.turn = json_num(p, "turn", s.prices.turn);
	s.prices.redis = json_num(p, "redis", s.prices.redis);
	s.prices.database = json_num(p, "database", s.prices.database);
	s.prices.egress_per_gb =
		json_num(p, "egress_per_gb", s.prices.egress_per_gb);
	const cJSON *by = item(j, "participants_by_region");
	for (Region &g : s.regions) {
		g.share = json_num(by, g.name.c_str(), 0);
		if (g.share > 0 && g.metros.empty()) {
			why = "participants_by_region: " + g.name +
			      " has no metro in the world";
			return false;
		}
	}
	return true;
}

} // namespace

bool load_scenario(const std::vector<std::string> &paths, Scenario &s,
		   std::string &why)
{
	cJSON *j = nullptr;
	for (const std::string &p : paths) {
		cJSON *f = read_json(p, why);
		if (!f) {
			cJSON_Delete(j);
			return false;
		}
		anchor(f, "world", dir_of(p));
		anchor(cJSON_GetObjectItemCaseSensitive(f, "media_node"),
		       "calibration", dir_of(p));
		if (j) {
			overlay(j, f);
			cJSON_Delete(f);
		} else {
			j = f;
		}
	}
	const cJSON *name = item(j, "name");
	s.name = cJSON_IsString(name) ? name->valuestring : paths[0];
	s.seed = (uint64_t)json_num(j, "seed", 1);
	s.duration_s = json_num(j, "duration_s", s.duration_s);
	const cJSON *allowance = item(j, "own_path_allowance_ms");
	if (allowance && (!cJSON_IsNumber(allowance) ||
			  allowance->valuedouble < 0)) {
		char *v = cJSON_PrintUnformatted(allowance);
		why = std::string("own_path_allowance_ms ") + v +
		      ": must be a number of ms >= 0";
		free(v);
		cJSON_Delete(j);
		return false;
	}
	if (allowance)
		s.own_path_allowance_ms = allowance->valuedouble;
	const cJSON *only = item(j, "only_region");
	if (only && !cJSON_IsString(only)) {
		cJSON_Delete(j);
		why = "only_region: must be a region's name";
		return false;
	}
	if (only)
		s.only_region = only->valuestring;
	bool ok = load_media_node(j, s, why);
	if (ok) {
		load_calls(j, s);
		load_media(j, s);
		load_signaling(j, s);
		ok = cJSON_IsString(item(j, "world")) ? load_plan(j, s, why)
						      : load_star(j, s, why);
	}
	cJSON_Delete(j);
	if (ok && (!s.media_nodes || !s.calls || s.duration_s <= 0)) {
		why = "media_nodes, calls.count and duration_s must be > 0";
		ok = false;
	}
	if (ok && !s.only_region.empty() &&
	    std::none_of(s.regions.begin(), s.regions.end(),
			 [&](const Region &r) {
				 return r.name == s.only_region && r.share > 0;
			 })) {
		why = "only_region \"" + s.only_region +
		      "\": no region of the world by that name has a share of "
		      "the participants";
		ok = false;
	}
	if (ok && s.request_gap_ms < 0) {
		why = "clients.request_gap_ms " +
		      std::to_string(s.request_gap_ms) +
		      ": must be a number of ms >= 0";
		ok = false;
	}
	if (ok &&
	    (s.turn_share < 0 || s.turn_share > 1 || s.turn_sessions <= 0)) {
		why = "media.turn_share " + std::to_string(s.turn_share) +
		      " must be within 0..1 and turn_sessions " +
		      std::to_string(s.turn_sessions) + " > 0";
		ok = false;
	}
	return ok;
}

cJSON *datacentre_json(const Datacentre &d)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", d.name.c_str());
	cJSON_AddNumberToObject(o, "media_nodes", d.media_nodes);
	cJSON_AddNumberToObject(o, "gateways", d.gateways);
	cJSON_AddNumberToObject(o, "turn", d.turn);
	return o;
}

std::string plan_text(const std::string &plan_path,
		      const std::vector<Datacentre> &dcs, const char *name,
		      std::string &why)
{
	cJSON *j = read_json(plan_path, why);
	std::string folder = dir_of(plan_path);
	char *dir = j ? realpath(folder.empty() ? "." : folder.c_str(), nullptr)
		      : nullptr;
	if (!dir) {
		if (j)
			why = "cannot resolve the folder of " + plan_path;
		cJSON_Delete(j);
		return std::string();
	}
	anchor(j, "world", std::string(dir) + "/");
	anchor(cJSON_GetObjectItemCaseSensitive(j, "media_node"), "calibration",
	       std::string(dir) + "/");
	free(dir);
	cJSON *arr = cJSON_CreateArray();
	for (const Datacentre &d : dcs)
		cJSON_AddItemToArray(arr, datacentre_json(d));
	/* each keeps its metro: the names are the plan's own */
	const cJSON *old = item(j, "datacentres");
	for (int i = 0; i < cJSON_GetArraySize(arr); i++)
		cJSON_AddItemToObject(
			cJSON_GetArrayItem(arr, i), "metro",
			cJSON_Duplicate(
				item(cJSON_GetArrayItem(old, i), "metro"), 1));
	cJSON_ReplaceItemInObjectCaseSensitive(j, "datacentres", arr);
	if (name) {
		cJSON_DeleteItemFromObjectCaseSensitive(j, "name");
		cJSON_AddStringToObject(j, "name", name);
	}
	char *t = cJSON_Print(j);
	std::string text(t);
	free(t);
	cJSON_Delete(j);
	return text;
}

/* among those with a gateway (or all, when none has one) */
unsigned nearest_datacentre(const Scenario &s, unsigned m)
{
	int best = -1;
	bool any = false;
	for (const Datacentre &d : s.datacentres)
		any = any || d.gateways > 0;
	for (unsigned d = 0; d < s.datacentres.size(); d++) {
		const Datacentre &dc = s.datacentres[d];
		if ((any && !dc.gateways) ||
		    (best >= 0 &&
		     s.rtt_ms[m][dc.metro] >=
			     s.rtt_ms[m][s.datacentres[best].metro]))
			continue;
		best = (int)d;
	}
	return best < 0 ? 0 : (unsigned)best;
}

} // namespace sim
