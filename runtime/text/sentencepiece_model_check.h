// Checks a serialized SentencePiece model (the bytes of spiece.model) for what the
// library would trust blindly, before the library sees it. A .hmoe file comes from
// anyone, and Debian's libsentencepiece (0.1.97) parses the model's protobuf safely but
// then believes its contents:
//
//  - the normalization rules of a normalizer or denormalizer spec (precompiled_charsmap:
//    a 4-byte size, a double-array trie, then the NUL-terminated replacement strings)
//    are walked without bounds: a trie unit can point past the array, a leaf past the
//    strings, a string can lack its NUL, and more than 32 rules matching one prefix
//    overrun a fixed 32-entry buffer; a trie size near the blob's end cuts the strings
//    short by 3 bytes;
//  - a model_type the build does not know leaves a null model that loading then uses;
//  - a piece holding a NUL byte is cut there when the library builds its own tries, so
//    two such pieces collide and the build throws from inside the library.
//
// So this walks the protobuf wire format (only the fields above; everything else is left
// to the library's parser) and every charsmap's trie from its root over all 256 byte
// values, and refuses what could make a lookup leave its buffers. It accepts every model
// the SentencePiece trainer writes; it does not tokenize anything.
#pragma once
#include <string_view>

namespace hmoe::text {

// Throws TokenizerError saying what is wrong. Only unigram models (T5's) are accepted.
void check_sentencepiece_model(std::string_view serialized);

// The check of one precompiled_charsmap blob, on its own (for tests).
void check_sentencepiece_charsmap(std::string_view blob);

}  // namespace hmoe::text
