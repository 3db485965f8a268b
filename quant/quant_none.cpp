// Placeholder translation unit so the library exists before its first kernel.
namespace hmoe { namespace quant { void link_anchor() {} } }
