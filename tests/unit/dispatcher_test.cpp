#include "plugins/dispatcher.hpp"
#include "plugins/host_api.hpp"
#include "base/stats.hpp"

#include <doctest/doctest.h>

using namespace microsockets;

namespace {

// What the callbacks saw, in order.
std::vector<std::string> trace;

int tagging_middleware(void* user, ms_call* call) {
  const auto& api = host_api_table();
  const char* tag = static_cast<const char*>(user);
  trace.push_back(std::string("mw ") + tag);
  ms_str p = api.call_payload(call);
  std::string payload(p.data, p.size);
  payload += tag;
  api.call_set_payload(call, {payload.data(), payload.size()});
  return api.call_next(call);
}

int stopping_middleware(void*, ms_call*) {
  trace.push_back("stop");
  return MS_OK;
}

int twice_middleware(void*, ms_call* call) {
  const auto& api = host_api_table();
  api.call_next(call);
  trace.push_back(api.call_next(call) == MS_REFUSED ? "second next refused" : "second next ran");
  return MS_OK;
}

int handler(void* user, ms_call* call) {
  ms_str p = host_api_table().call_payload(call);
  trace.push_back(std::string(static_cast<const char*>(user)) + " " + std::string(p.data, p.size));
  return MS_OK;
}

int failing_handler(void*, ms_call*) {
  host_api_table().report_error(nullptr, {"boom", 4});
  return MS_FAILED;
}

std::shared_ptr<plugin> make_plugin(std::string name, registrations regs) {
  return std::make_shared<plugin>(std::move(name), std::move(regs));
}

registrations middleware_of(ms_on_middleware fn, const char* tag) {
  registrations r;
  r.middleware.push_back({fn, const_cast<char*>(tag)});
  return r;
}

registrations handler_of(std::string event, ms_on_event fn, const char* tag) {
  registrations r;
  r.events.push_back({std::move(event), {fn, const_cast<char*>(tag)}});
  return r;
}

}  // namespace

TEST_CASE("every middleware runs, in load order, before the handler, and may change the payload") {
  trace.clear();
  auto table = plugin_table::build({make_plugin("a", middleware_of(tagging_middleware, "A")),
                                    make_plugin("b", middleware_of(tagging_middleware, "B")),
                                    make_plugin("h", handler_of("ev", handler, "handler"))});
  dispatch(*table, 1, "ev", "x");
  CHECK(trace == std::vector<std::string>{"mw A", "mw B", "handler xAB"});
}

TEST_CASE("a middleware that does not call next stops the event") {
  trace.clear();
  auto table = plugin_table::build({make_plugin("s", middleware_of(stopping_middleware, "")),
                                    make_plugin("b", middleware_of(tagging_middleware, "B")),
                                    make_plugin("h", handler_of("ev", handler, "handler"))});
  dispatch(*table, 1, "ev", "x");
  CHECK(trace == std::vector<std::string>{"stop"});
}

TEST_CASE("next runs the rest of the chain once, however often it is called") {
  trace.clear();
  auto table = plugin_table::build({make_plugin("t", middleware_of(twice_middleware, "")),
                                    make_plugin("h", handler_of("ev", handler, "handler"))});
  dispatch(*table, 1, "ev", "x");
  CHECK(trace == std::vector<std::string>{"handler x", "second next refused"});
}

TEST_CASE("an event without a handler goes to the fallback, or nowhere") {
  trace.clear();
  registrations with_fallback;
  with_fallback.fallback = callback<ms_on_event>{handler, const_cast<char*>("fallback")};
  auto table = plugin_table::build({make_plugin("f", with_fallback)});
  dispatch(*table, 1, "unknown", "p");
  CHECK(trace == std::vector<std::string>{"fallback p"});

  trace.clear();
  auto empty = plugin_table::build({make_plugin("m", middleware_of(tagging_middleware, "A"))});
  dispatch(*empty, 1, "unknown", "p");
  CHECK(trace == std::vector<std::string>{"mw A"});
}

TEST_CASE("a second plugin claiming an event is refused and the first keeps it") {
  trace.clear();
  auto table = plugin_table::build({make_plugin("first", handler_of("ev", handler, "first")),
                                    make_plugin("second", handler_of("ev", handler, "second"))});
  REQUIRE(table->plugins().size() == 1);
  CHECK(table->plugins()[0]->name() == "first");
  dispatch(*table, 1, "ev", "x");
  CHECK(trace == std::vector<std::string>{"first x"});
}

TEST_CASE("a serving plugin keeps its event whatever the load order, and middleware keeps the load order") {
  trace.clear();
  registrations newcomer = handler_of("ev", handler, "newcomer");
  newcomer.middleware.push_back({tagging_middleware, const_cast<char*>("N")});
  auto first = make_plugin("newcomer", std::move(newcomer));
  auto serving = make_plugin("serving", handler_of("ev", handler, "serving"));
  auto other = make_plugin("other", middleware_of(tagging_middleware, "O"));
  std::vector<plugin_table::refusal> refused;
  auto table = plugin_table::build({first, other, serving}, &refused, {serving.get()});
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].refused == first);
  CHECK(refused[0].reason == "event 'ev' is already handled by plugin 'serving'");
  REQUIRE(table->plugins().size() == 2);
  CHECK(table->plugins()[0]->name() == "other");
  dispatch(*table, 1, "ev", "x");
  CHECK(trace == std::vector<std::string>{"mw O", "serving xO"});
}

static int failing_middleware(void*, ms_call*) {
  host_api_table().report_error(nullptr, {"secret detail", 13});
  return MS_FAILED;
}

TEST_CASE("a failing handler is counted, and the client's error names the event but not the reason") {
  auto before = counters.plugin_errors.load();
  auto table = plugin_table::build({make_plugin("f", handler_of("ev", failing_handler, ""))});
  CHECK(dispatch(*table, 1, "ev", "x") == "the handler for 'ev' failed");
  CHECK(counters.plugin_errors.load() == before + 1);
}

TEST_CASE("a failing middleware is reported to the client as such; a clean event reports nothing") {
  auto table = plugin_table::build({make_plugin("m", middleware_of(failing_middleware, "")),
                                    make_plugin("h", handler_of("ev", handler, "handler"))});
  CHECK(dispatch(*table, 1, "ev", "x") == "a middleware for 'ev' failed");
  auto clean = plugin_table::build({make_plugin("h", handler_of("ev", handler, "handler"))});
  CHECK(dispatch(*clean, 1, "ev", "x") == std::nullopt);
}

TEST_CASE("the headers kept are those every plugin named, or all while one has not said") {
  auto reading = [](std::vector<std::string> names) {
    registrations r;
    r.kept_headers = std::move(names);
    return r;
  };
  auto table = plugin_table::build({make_plugin("a", reading({"x-b", "authorization"})), make_plugin("b", reading({})),
                                    make_plugin("c", reading({"x-b"}))});
  REQUIRE(table->kept_headers());
  CHECK(*table->kept_headers() == std::vector<std::string>{"authorization", "x-b"});
  CHECK(plugin_table::build({make_plugin("n", reading({}))})->kept_headers() == std::vector<std::string>{});
  CHECK(plugin_table::build({})->kept_headers() == std::vector<std::string>{});
  CHECK_FALSE(plugin_table::build({make_plugin("a", reading({"x-b"})), make_plugin("silent", {})})->kept_headers());
}
