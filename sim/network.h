/*
 * network.h - the simulated Internet of meeshy-sim: metros (a router each)
 * meshed with their round trips, clients on access links under a metro,
 * data-centre hosts at a metro. Peers in one metro meet at its router,
 * peers of two metros cross the link between them, never a data centre.
 *
 * Addresses: metro m owns (11 + m).0.0.0/8. Its data-centre hosts sit on
 * M.0/16, its access routers k = 1..254 on M.k/16 (64 clients each), their
 * uplinks on M.255/16; metro-to-metro links on 10/8. Each router then holds
 * one route per metro and one per access router of its own metro, so
 * lookups stay cheap with tens of thousands of clients.
 */
#pragma once

#include <vector>

#include "ns3/internet-module.h"
#include "ns3/network-module.h"

namespace sim
{

class Network
{
      public:
	/* rtt_ms[a][b]: the round trip between metros a and b; each link
	 * carries half of it each way. Data-centre hosts hang dc_delay_ms
	 * from their metro's router. */
	Network(const std::vector<std::vector<double>> &rtt_ms,
		double dc_delay_ms);

	/* a gateway or media node at metro m, on 10 Gbit/s */
	ns3::Ptr<ns3::Node> dc_host(unsigned m, ns3::Ipv4Address *addr);

	/* a client on its access link at metro m; nullptr when the metro's
	 * address plan is full (clients_per_metro()) */
	ns3::Ptr<ns3::Node> client(unsigned m, double mbps, double delay_ms,
				   double loss, ns3::Ipv4Address *addr);

	static unsigned clients_per_metro();
	static unsigned max_metros();

      private:
	struct Metro {
		ns3::Ptr<ns3::Node> router;
		unsigned dc_hosts = 0;
		ns3::Ptr<ns3::Node> access; /* the access router being filled */
		unsigned access_n = 0;      /* access routers made */
		unsigned access_used = 0;   /* clients on the current one */
	};
	std::vector<Metro> metros_;
	double dc_delay_ms_;
	unsigned mesh_links_ = 0;

	void mesh(unsigned a, unsigned b, double rtt_ms);
	void new_access(unsigned m);
};

} // namespace sim
