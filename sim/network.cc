/*
 * network.cc - the simulated Internet of meeshy-sim (network.h).
 */
#include "network.h"

#include <sstream>
#include <string>
#include <unordered_map>

#include "ns3/core-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

using namespace ns3;

namespace sim
{

namespace
{

enum {
	FIRST_OCTET = 11,
	CLIENTS_PER_ACCESS = 64,
	MAX_ACCESS = 254,
	UPLINKS = 255,
	MAX_METROS = 100,
	FAST_LINK_MBPS = 10000
};

Ptr<Node> new_node()
{
	Ptr<Node> n = CreateObject<Node>();
	InternetStackHelper stack;
	stack.Install(n);
	/* A packet is for a node only if its address is on the interface it
	 * came in on: no router here is ever a destination, and the weak
	 * model's default (any interface's address) compares every packet
	 * forwarded against every address of the router, a quarter of a
	 * run's time with thousands of clients. */
	n->GetObject<Ipv4>()->SetAttribute("WeakEsModel", BooleanValue(false));
	return n;
}

/* A router's static routes, looked up once per destination. ns-3's
 * static routing scans every route of a router for each packet it
 * forwards, for the longest prefix: 66 on an access router (a /30 per
 * client), 15 % of a Year-1 run. Consulted before the static routes (the
 * list routing has already handed local packets up); a destination with
 * no route is not cached, and a new interface (a link added while the
 * network is built) empties the cache. */
class RouteCache : public Ipv4RoutingProtocol
{
      public:
	static TypeId GetTypeId()
	{
		static TypeId tid = TypeId("sim::RouteCache")
					    .SetParent<Ipv4RoutingProtocol>()
					    .AddConstructor<RouteCache>();
		return tid;
	}

	Ptr<Ipv4Route> RouteOutput(Ptr<Packet>, const Ipv4Header &,
				   Ptr<NetDevice>,
				   Socket::SocketErrno &err) override
	{
		err = Socket::ERROR_NOROUTETOHOST;
		return nullptr;
	}

	bool RouteInput(Ptr<const Packet> p, const Ipv4Header &h,
			Ptr<const NetDevice>, UnicastForwardCallback ucb,
			MulticastForwardCallback, LocalDeliverCallback,
			ErrorCallback) override
	{
		Ipv4Address dst = h.GetDestination();
		/* the list routing has checked the interface forwards */
		if (dst.IsMulticast() || dst.IsBroadcast())
			return false;
		Ptr<Ipv4Route> &r = routes_[dst.Get()];
		if (!r) {
			Socket::SocketErrno err;
			r = table_->RouteOutput(nullptr, h, nullptr, err);
			if (!r) {
				routes_.erase(dst.Get());
				return false;
			}
		}
		ucb(r, p, h);
		return true;
	}

	void NotifyInterfaceUp(uint32_t) override { routes_.clear(); }
	void NotifyInterfaceDown(uint32_t) override { routes_.clear(); }
	void NotifyAddAddress(uint32_t, Ipv4InterfaceAddress) override
	{
		routes_.clear();
	}
	void NotifyRemoveAddress(uint32_t, Ipv4InterfaceAddress) override
	{
		routes_.clear();
	}
	void SetIpv4(Ptr<Ipv4> ipv4) override
	{
		ipv4_ = ipv4;
		table_ = Ipv4StaticRoutingHelper().GetStaticRouting(ipv4);
	}
	void PrintRoutingTable(Ptr<OutputStreamWrapper> s,
			       Time::Unit) const override
	{
		*s->GetStream() << "RouteCache: " << routes_.size()
				<< " destinations\n";
	}

      private:
	Ptr<Ipv4> ipv4_;
	Ptr<Ipv4StaticRouting> table_;
	std::unordered_map<uint32_t, Ptr<Ipv4Route>> routes_;
};

/* a node that forwards: its static routes behind a RouteCache */
Ptr<Node> new_router()
{
	Ptr<Node> n = new_node();
	Ptr<Ipv4ListRouting> list =
		DynamicCast<Ipv4ListRouting>(n->GetObject<Ipv4>()->GetRoutingProtocol());
	list->AddRoutingProtocol(CreateObject<RouteCache>(), 10);
	return n;
}

/* the n-th /30 of first.second/16 */
std::string subnet(unsigned first, unsigned second, unsigned n)
{
	std::ostringstream b;
	b << first << "." << second << "." << ((n >> 6) & 0xff) << "."
	  << ((n & 0x3f) << 2);
	return b.str();
}

/* a, b on a point-to-point link in subnet base/30: a gets .1, b .2 */
NetDeviceContainer link(Ptr<Node> a, Ptr<Node> b, double mbps, double delay_ms,
			double loss, const std::string &base,
			Ipv4InterfaceContainer *ifs)
{
	PointToPointHelper p2p;
	Ipv4AddressHelper addr;
	std::ostringstream rate;
	rate << mbps << "Mbps";
	p2p.SetDeviceAttribute("DataRate", StringValue(rate.str()));
	p2p.SetChannelAttribute(
		"Delay", TimeValue(MicroSeconds((int64_t)(delay_ms * 1000))));
	p2p.SetQueue("ns3::DropTailQueue", "MaxSize", StringValue("1000p"));
	NetDeviceContainer d = p2p.Install(a, b);
	for (uint32_t i = 0; i < 2 && loss > 0; i++) {
		Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
		em->SetAttribute("ErrorRate", DoubleValue(loss));
		em->SetAttribute("ErrorUnit", StringValue("ERROR_UNIT_PACKET"));
		d.Get(i)->SetAttribute("ReceiveErrorModel", PointerValue(em));
	}
	addr.SetBase(base.c_str(), "255.255.255.252");
	*ifs = addr.Assign(d);
	/* Assign records each address in ns-3's global generator, which
	 * refuses duplicates by walking its list of allocated ranges; the
	 * two addresses of a /30 never join the range before them, so the
	 * list grew by one entry a link and setting up 50,000 clients was
	 * quadratic. Each link has its own subnet() (no duplicate to
	 * find): the record is dropped. */
	Ipv4AddressGenerator::Reset();
	/* Assign puts an fq_codel queue in front of each device; on the
	 * data-centre and backbone links (10 Gbit/s and more) no queue ever
	 * forms at these loads, and passing through it cost nearly a third
	 * of a run's CPU. The access links keep theirs: a home router's
	 * queue. */
	if (mbps >= FAST_LINK_MBPS)
		TrafficControlHelper().Uninstall(d);
	return d;
}

void default_route(Ptr<Node> n, Ipv4Address via)
{
	Ipv4StaticRoutingHelper sr;
	sr.GetStaticRouting(n->GetObject<Ipv4>())->SetDefaultRoute(via, 1);
}

/* on router r: dst/mask leaves through device dev towards next */
void route(Ptr<Node> r, const std::string &dst, const char *mask,
	   Ipv4Address next, Ptr<NetDevice> dev)
{
	Ipv4StaticRoutingHelper sr;
	Ptr<Ipv4> ip = r->GetObject<Ipv4>();
	sr.GetStaticRouting(ip)->AddNetworkRouteTo(
		Ipv4Address(dst.c_str()), Ipv4Mask(mask), next,
		(uint32_t)ip->GetInterfaceForDevice(dev));
}

std::string metro_prefix(unsigned m)
{
	return std::to_string(FIRST_OCTET + m) + ".0.0.0";
}

} // namespace

unsigned Network::clients_per_metro()
{
	return CLIENTS_PER_ACCESS * MAX_ACCESS;
}

unsigned Network::max_metros()
{
	return MAX_METROS;
}

Network::Network(const std::vector<std::vector<double>> &rtt_ms,
		 double dc_delay_ms)
    : metros_(rtt_ms.size()), dc_delay_ms_(dc_delay_ms)
{
	for (Metro &m : metros_)
		m.router = new_router();
	for (unsigned a = 0; a < metros_.size(); a++)
		for (unsigned b = a + 1; b < metros_.size(); b++)
			mesh(a, b, rtt_ms[a][b]);
}

/* The link between two metros, 100 Gbit/s, half the round trip each
 * way, and each one's route to the other's /8 over it. */
void Network::mesh(unsigned a, unsigned b, double rtt_ms)
{
	Ipv4InterfaceContainer ifs;
	unsigned n = mesh_links_++;
	NetDeviceContainer d =
		link(metros_[a].router, metros_[b].router, 100000, rtt_ms / 2,
		     0, subnet(10, n >> 14, n & 0x3fff), &ifs);
	route(metros_[a].router, metro_prefix(b), "255.0.0.0",
	      ifs.GetAddress(1), d.Get(0));
	route(metros_[b].router, metro_prefix(a), "255.0.0.0",
	      ifs.GetAddress(0), d.Get(1));
}

Ptr<Node> Network::dc_host(unsigned m, Ipv4Address *addr)
{
	Ipv4InterfaceContainer ifs;
	Metro &mt = metros_[m];
	Ptr<Node> n = new_node();
	link(n, mt.router, 10000, dc_delay_ms_, 0,
	     subnet(FIRST_OCTET + m, 0, mt.dc_hosts++), &ifs);
	default_route(n, ifs.GetAddress(1));
	*addr = ifs.GetAddress(0);
	return n;
}

/* The next access router of metro m, on a fast uplink, and the metro's
 * route to its /16. */
void Network::new_access(unsigned m)
{
	Ipv4InterfaceContainer ifs;
	Metro &mt = metros_[m];
	unsigned k = ++mt.access_n;
	mt.access = new_router();
	mt.access_used = 0;
	NetDeviceContainer d = link(mt.access, mt.router, 100000, 0.01, 0,
				    subnet(FIRST_OCTET + m, UPLINKS, k), &ifs);
	default_route(mt.access, ifs.GetAddress(1));
	route(mt.router,
	      std::to_string(FIRST_OCTET + m) + "." + std::to_string(k) +
		      ".0.0",
	      "255.255.0.0", ifs.GetAddress(0), d.Get(1));
}

Ptr<Node> Network::client(unsigned m, double mbps, double delay_ms, double loss,
			  Ipv4Address *addr)
{
	Ipv4InterfaceContainer ifs;
	Metro &mt = metros_[m];
	if (!mt.access || mt.access_used == CLIENTS_PER_ACCESS) {
		if (mt.access_n == MAX_ACCESS)
			return nullptr;
		new_access(m);
	}
	Ptr<Node> n = new_node();
	link(n, mt.access, mbps, delay_ms, loss,
	     subnet(FIRST_OCTET + m, mt.access_n, mt.access_used++), &ifs);
	default_route(n, ifs.GetAddress(1));
	*addr = ifs.GetAddress(0);
	return n;
}

} // namespace sim
