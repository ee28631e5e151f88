// The one translation unit that compiles Asio (BOOST_ASIO_SEPARATE_COMPILATION), so the
// rest of the build only parses its declarations.
#include <boost/asio/impl/src.hpp>
