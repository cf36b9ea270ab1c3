//! A value replaced whole while its readers go on: the settings in force (swapped by a reload) and
//! the alert router (rebuilt when membership changes). A reader takes the current value once per
//! update, request or job and keeps it to the end, so it never sees half of an old value and half of
//! a new one, and never waits for a rebuild.

use std::sync::{Arc, RwLock};

pub struct Live<T>(Arc<RwLock<Arc<T>>>);

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Live<T> {
    pub fn new(value: T) -> Self {
        Self::new_shared(Arc::new(value))
    }

    pub fn new_shared(value: Arc<T>) -> Self {
        Self(Arc::new(RwLock::new(value)))
    }

    /// The value in force now.
    pub fn now(&self) -> Arc<T> {
        // A poisoned lock still holds a whole value: a replacement is one assignment.
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts `value` in force; readers holding the previous one keep it until they let it go.
    pub fn replace(&self, value: T) {
        self.put(Arc::new(value));
    }

    /// Puts an already shared value in force.
    pub fn put(&self, value: Arc<T>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = value;
    }
}
