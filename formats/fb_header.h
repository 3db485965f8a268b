// Between the FlatBuffer header (formats/hmoe.fbs, generated code) and ModelHeader.
// Internal to formats/: the reader and the writer are its only users.
#pragma once
#include "formats/model_header.h"
#include "hmoe_generated.h"

namespace hmoe {

// The header's fields as ModelHeader (a verified buffer; absent tables give defaults).
ModelHeader header_from_fb(const fb::Model& m);
// Fills everything but the tensor table and data_alignment.
void header_to_fb(const ModelHeader& h, fb::ModelT* out);

}  // namespace hmoe
