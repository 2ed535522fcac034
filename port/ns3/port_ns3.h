/*
 * port_ns3.h - what the simulator harness tells port/ns3 (C++ only): on
 * which ns-3 node the objects it creates next live, and the run's seed.
 */
#ifndef MEESHY_PORT_NS3_H
#define MEESHY_PORT_NS3_H

#include <cstdint>
#include "ns3/node.h"
#include "ns3/ptr.h"

/* UDP sockets made from now on are this node's. */
void port_ns3_set_node(ns3::Ptr<ns3::Node> node);
ns3::Ptr<ns3::Node> port_ns3_node(void);
/* port_random's sequence: the same seed replays the same run. */
void port_ns3_seed(uint64_t seed);

#endif
