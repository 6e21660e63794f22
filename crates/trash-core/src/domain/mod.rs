//! Domain types: values that can only be valid, and the records of the trash.

pub mod audit;
pub mod hold;
pub mod ids;
pub mod item;
pub mod operation;
pub mod principal;
pub mod scope;
pub mod session;
pub mod time;

pub use audit::*;
pub use hold::*;
pub use ids::*;
pub use item::*;
pub use operation::*;
pub use principal::*;
pub use scope::*;
pub use session::*;
pub use time::*;
