// Where `hmoe run` finds the model that ships with the project when -m is not given.
#pragma once
#include <string>

namespace hmoe::cli {

// The file name of the shipped model under models/.
extern const char* const kShippedModelName;

// $HMOE_MODEL if set; else the shipped model next to the build tree (models/ two levels
// above the executable, as in build/tools/hmoe) or in an install (<bin>/../share/hypermoe/
// models/, where `cmake --install` puts it).
// Throws std::runtime_error listing the places tried when none exists.
std::string find_default_model();

}  // namespace hmoe::cli
