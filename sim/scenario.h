/*
 * scenario.h - what meeshy-sim plays: a deployment plan, a load and the
 * network they run on, read from JSON (sim/README.md has the keys).
 *
 * Either one scenario file (the network a star: every region's clients at
 * one metro with the data centre), or a plan and a load:
 *   plan: "world" (the network file: metros, their round trips, access
 *         networks per region), "datacentres" (where, and how many
 *         gateways, media nodes and TURN servers each), "prices";
 *   load: participants per region, calls, media, signaling, the SLA.
 * The second file's keys are laid over the first's.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct cJSON; /* cjson/cJSON.h */

namespace sim
{

enum { FAIL_BUSIEST_SAMPLED = -2 };

/* One kind of access network: its share of a region's participants, its
 * one-way delay to the metro (half the published round trip) and loss. */
struct Access {
	std::string tech;
	double share, delay_ms, loss;
};

/* Where participants are. In a star scenario: delay_ms +- jitter_ms fixed
 * per client; with a world: an access network drawn from `access`, a
 * metro from `metros`, and each packet waiting an exponential time of
 * mean packet_jitter_ms on the access link (in order). */
struct Region {
	std::string name;
	double share, delay_ms, jitter_ms, loss, mbps;
	std::vector<unsigned> metros;
	std::vector<Access> access;
	double packet_jitter_ms = 0;
};

/* A data centre of the plan: its gateways and media nodes at a metro. */
struct Datacentre {
	std::string name;
	unsigned metro = 0;
	unsigned gateways = 1, media_nodes = 0, turn = 0;
};

/* The seed's monthly prices (its cost table), per instance. */
struct Prices {
	double gateway = 37, media_node = 153, turn = 102, redis = 150,
	       database = 450, egress_per_gb = 0.09;
};

struct Scenario {
	std::string name;
	uint64_t seed = 1;
	double duration_s = 10;
	std::vector<std::string> metros;         /* a star: one, "core" */
	std::vector<std::vector<double>> rtt_ms; /* between metros */
	std::vector<Region> regions;
	std::vector<Datacentre> datacentres;
	Prices prices;
	unsigned redis = 0;
	/* what one gateway instance holds (the seed's capacity table) */
	double gateway_connections = 1000;
	/* relay sessions one TURN instance holds (the seed's: 200 on its
	 * month-1 instance of 2 vCPU) */
	double turn_sessions = 200;
	unsigned media_nodes = 1; /* all data centres' */
	unsigned cores = 1; /* per media node: one meeshy-call worker each */
	/* this media node dies at fail_at_s ("busiest": the one with the
	 * most packet-by-packet calls then) */
	int fail_node = -1;
	double fail_at_s = 0;
	double fail_detect_s = 3; /* its heartbeat key expires (EX 3) */
	/* media node CPU per packet in, and per copy out, at cost_bytes;
	 * *_small_us at small_bytes; between and around, linear in the size
	 * (SRTP's cipher and MAC run over the bytes) */
	double rx_us = 8, tx_us = 4, cost_bytes = 1200;
	double rx_small_us = -1, tx_small_us = -1, small_bytes = 100;
	/* a packet of a simulcast layer nobody gets: the router takes it on
	 * its header, undecrypted (router_rtp_peek), at any size; < 0: as
	 * any packet in (a calibration from before the server did so) */
	double peek_us = -1;
	/* a media core that was idle when a packet came starts on it this
	 * much later (the CPU, or a VM's halted vCPU, waking: 43 us p50 on
	 * this machine's Firecracker VM); what arrives meanwhile joins its
	 * receive batch. 0: a core starts at once */
	double wake_us = 0;
	/* CPU of one transport's DTLS handshake, on each side */
	double dtls_server_ms = 0, dtls_client_ms = 0;
	/* the server's handshakes on a core of their own per data centre
	 * (an appliance's --dtls-threads beside its media workers), not on
	 * the media nodes' */
	bool handshake_core = false;
	double dc_delay_ms = 0.25; /* gateway and media nodes to their metro */
	/* a client's SRTP protect and send of one packet: < 0, what a copy
	 * out costs the node (the same libsrtp2 and socket calls) */
	double client_tx_us = -1;
	/* a client's own time between an answer and its next request of a
	 * join (a browser's SDP and transport work; the cross-check's
	 * script measures its own) */
	double request_gap_ms = 0;
	unsigned queue_packets = 5000;
	unsigned calls = 4;
	unsigned participants = 0; /* per call; 0: drawn (two_share...) */
	double two_share = 0.75, group_mean = 4;
	/* a call's participants after the first: in another region than
	 * the first's with this probability */
	double cross_region_share = 0;
	/* a participant in the same region as the first: in the first's
	 * metro with this probability, else in any of the region's */
	double same_metro_share = 0;
	double arrival_window_s = 2;
	double mean_call_s = 0;      /* 0: calls last the whole run */
	double join_spacing_s = 0.3; /* between participants of one call */
	/* between participants leaving at the call's end; 0: all at once */
	double leave_spacing_s = 0;
	/* the share of calls whose media runs packet by packet through the
	 * real router; the others load their media node as a fluid */
	double media_sample_share = 1;
	/* and whatever the draw, the first this many calls of each region
	 * large enough for the SFU (a region's verdict rests on its own) */
	unsigned region_sampled = 6;
	/* a participant whose P2P media has to go through a TURN relay (a
	 * NAT or firewall in the way) with this probability */
	double turn_share = 0;
	double audio_bytes = 80, audio_ms = 20;
	double video_fps = 30;
	double video_kbps[3] = {500, 1000, 2500}; /* the seed's simulcast */
	unsigned consume_layer = 1;
	/* a join's request/answer round trips to the gateway, as
	 * web/src/sfu-client.js makes them: signaling_rounds before the
	 * transports can connect (join, capabilities, two create-transport,
	 * connect), then, while ICE and DTLS run, sfu_rounds_fixed (two
	 * produce, connect of the receive transport) and sfu_rounds_per_peer
	 * for the first other participant on the SFU (consume and resume,
	 * audio and video) */
	double gateway_ms = 2, signaling_rounds = 5;
	unsigned sfu_rounds_fixed = 3, sfu_rounds_per_peer = 4;
	bool gateway_on_media = false; /* role all: one process, one CPU */
	/* a client's transports shaking hands on one thread (a browser's
	 * network thread: 2) or apart (1) */
	unsigned client_serial_handshakes = 2;
	unsigned sfu_from = 3;
	/* what clients add to a direct pair's own path (p95 ms), which
	 * decides the pairs within P2P's reach; < 0: this run's direct pairs
	 * measure it. A load cut to one region gives the whole load's, else
	 * South America's own lossy pairs (58 ms against 21) would leave it
	 * no pair within reach and nothing to hold the plan to. */
	double own_path_allowance_ms = -1;
	/* when set, a region: only the calls with a participant there are
	 * played, drawn as the whole load draws them (a search region by
	 * region), and only its rows are reported */
	std::string only_region;
	/* the seed's SLA table (p95) */
	double sla_join_ms = 2000, sla_p2p_rtt_ms = 100, sla_sfu_rtt_ms = 150,
	       sla_event_ms = 50, sla_switch_ms = 2000;
};

/* Whether a run of s is held to region's rows: every region's, or in a
 * load cut to one region (only_region) that one's alone. */
inline bool held_to(const Scenario &s, const std::string &region)
{
	return s.only_region.empty() || region == s.only_region;
}

/* Reads a scenario, or a plan then a load; false with why on bad input
 * (naming the file and the key). */
bool load_scenario(const std::vector<std::string> &paths, Scenario &s,
		   std::string &why);

/* o's number k, or def when o has none */
double json_num(const ::cJSON *o, const char *k, double def);

/* A data centre's counts as JSON: name, media_nodes, gateways, turn (the
 * caller owns it; cJSON, as in scenario.cc). */
::cJSON *datacentre_json(const Datacentre &d);

/* The plan file's text with these data centres, its files named by
 * absolute paths (so it can be read from anywhere); empty on error. */
std::string plan_text(const std::string &plan_path,
		      const std::vector<Datacentre> &dcs, const char *name,
		      std::string &why);

/* The data centre serving metro m: the one of the least round trip. */
unsigned nearest_datacentre(const Scenario &s, unsigned m);

} // namespace sim
