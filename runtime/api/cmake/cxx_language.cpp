// Deliberately empty. libhypermoe.a is otherwise one prebuilt object, which CMake
// cannot tell is C++; this source makes it a C++ library, so CMake links its users
// (C programs too) with the C++ driver and its runtime, in the build tree and through
// the exported package alike.
