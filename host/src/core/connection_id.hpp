// A connection's id (ms_conn_id): unique across a cluster's hosts, and it
// says where the connection lives, so that a call on it is routed without a
// lookup table:
//
//   bits 63..40  the host's id (random per host with --redis, else 0)
//   bits 39..8   a sequence number per worker (wraps after 2^32 connections)
//   bits  7..0   the worker's index
//
// 0 is no connection.
#pragma once

#include <microsockets/abi.h>

#include <cstdint>

namespace microsockets::connection_id {

constexpr unsigned worker_bits = 8;
constexpr unsigned sequence_bits = 32;
constexpr unsigned host_shift = worker_bits + sequence_bits;
constexpr unsigned host_bits = 64 - host_shift;

// --threads may not exceed what the worker's bits can name.
constexpr unsigned max_workers = 1u << worker_bits;
static_assert(max_workers == 256, "options.cpp's --threads limit and the README say 256");
constexpr std::uint32_t max_host_id = (1u << host_bits) - 1;

constexpr ms_conn_id make(std::uint32_t host, std::uint64_t sequence, unsigned worker) {
  return (ms_conn_id(host) << host_shift) | ((sequence & 0xffffffffu) << worker_bits) | worker;
}
constexpr unsigned worker_of(ms_conn_id id) { return unsigned(id & (max_workers - 1)); }
constexpr std::uint32_t host_of(ms_conn_id id) { return std::uint32_t(id >> host_shift); }

}  // namespace microsockets::connection_id
