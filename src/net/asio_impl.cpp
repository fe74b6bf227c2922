// net: Asio's and asio::ssl's implementation, compiled once for the whole project
// (ASIO_SEPARATE_COMPILATION) so other translation units stay quick to build.
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
