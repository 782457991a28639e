//! bkg plugin `candle`: BERT sentence embeddings (all-MiniLM-L6-v2 from the model store) and
//! small trainable models (linear, logistic, MLP) with Hugging Face candle, on the CPU.
//! Methods and errors: docs/candle.md.

mod embed;
mod errors;
mod methods;
mod net;
mod registry;
mod store;
mod train;
mod validate;

fn main() {
    methods::plugin().run_blocking();
}
