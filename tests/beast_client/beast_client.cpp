// Beast's own WebSocket client against the host: the upgrade, a message each
// way (one of them fragmented), a ping answered by a pong, and the close
// handshake. Prints one line per step; exits non-zero at the first that fails.
//
//   beast_client PORT
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "beast_client: %s\n", what.c_str());
  std::exit(1);
}

std::string read_text(websocket::stream<net::ip::tcp::socket>& ws) {
  beast::flat_buffer buffer;
  ws.read(buffer);
  if (!ws.got_text()) fail("the host sent a binary message");
  return beast::buffers_to_string(buffer.data());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) fail("usage: beast_client PORT");
  try {
    net::io_context ioc;
    websocket::stream<net::ip::tcp::socket> ws(ioc);
    ws.next_layer().connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
    ws.handshake("127.0.0.1", "/");
    std::puts("upgraded");

    ws.text(true);
    ws.write(net::buffer(std::string(R"({"event":"echo","payload":"from beast"})")));
    if (auto reply = read_text(ws); reply != R"({"event":"echo","payload":"from beast"})") fail("echo: " + reply);
    std::puts("echoed");

    // The same message again, in three fragments.
    const std::string whole = R"({"event":"echo","payload":"in pieces"})";
    ws.write_some(false, net::buffer(whole.substr(0, 10)));
    ws.write_some(false, net::buffer(whole.substr(10, 10)));
    ws.write_some(true, net::buffer(whole.substr(20)));
    if (auto reply = read_text(ws); reply != R"({"event":"echo","payload":"in pieces"})") fail("fragments: " + reply);
    std::puts("fragments assembled");

    bool ponged = false;
    ws.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::pong && payload == "beat") ponged = true;
    });
    ws.ping("beat");
    ws.write(net::buffer(std::string(R"({"event":"echo","payload":"after the ping"})")));
    read_text(ws);  // the pong comes before it, and the callback sees it
    if (!ponged) fail("no pong for the ping");
    std::puts("ponged");

    // close() returns once the host's close frame has come back: the handshake.
    ws.close(websocket::close_code::normal);
    std::puts("closed");
  } catch (const std::exception& e) {
    fail(e.what());
  }
}
