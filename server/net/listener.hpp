#pragma once
// A TCP listener that starts one http_session per accepted connection, within its own
// budget of open connections (connection_budget.hpp): over it, a connection gets 503.
//
// Concurrency contract: the accept loop runs on the io_context; each accepted socket gets
// its own strand, on which its session runs. close() is called from the io_context.

#include "server/net/connection_budget.hpp"
#include "server/net/http_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace fieldsync::server {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens at once, so that an occupied port fails start-up with a one-line
  // std::runtime_error ("cannot listen on 0.0.0.0:8080 (public): Address already in use").
  static std::shared_ptr<listener> bind(boost::asio::io_context& ioc,
                                        const boost::asio::ip::tcp::endpoint& endpoint,
                                        std::shared_ptr<const listener_context> ctx,
                                        std::size_t max_connections);

  void start();
  void close();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  listener(boost::asio::io_context& ioc, std::shared_ptr<const listener_context> ctx,
           std::size_t max_connections);

 private:
  boost::asio::awaitable<void> accept_loop();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<const listener_context> ctx_;
  std::shared_ptr<connection_budget> budget_;
};

}  // namespace fieldsync::server
