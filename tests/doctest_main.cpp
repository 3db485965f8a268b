// The one doctest main shared by the project's test executables (link hmoe_test_main).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
