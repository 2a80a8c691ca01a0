// Asio and Beast are built with separate compilation (see the top-level CMakeLists.txt), so
// their definitions must be compiled once. The broker library does that in
// src/http/asio_impl.cpp when the HTTP server is present; until then the test binary does it
// here for the scripted server. The check keeps the two from ever both compiling them.
#if !__has_include("http/asio_impl.cpp")
#include <utility>  // before Boost: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
#endif
