//! Local LLM inference on llama.cpp (see engine helper).
