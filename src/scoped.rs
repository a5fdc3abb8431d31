//! Thread-local values set for the length of a call, restored when it returns or when a
//! panic unwinds through it (a guard does the restoring).

use std::cell::Cell;
use std::thread::LocalKey;

/// Restores a thread-local cell's previous value when dropped.
struct Restore<T: Copy + 'static> {
    key: &'static LocalKey<Cell<T>>,
    prev: T,
}

impl<T: Copy + 'static> Drop for Restore<T> {
    fn drop(&mut self) {
        self.key.with(|c| c.set(self.prev));
    }
}

/// Runs `f` with `key` set to `value`; the previous value is back afterwards, also when
/// `f` panics.
pub(crate) fn set_during<T: Copy + 'static, R>(
    key: &'static LocalKey<Cell<T>>,
    value: T,
    f: impl FnOnce() -> R,
) -> R {
    let _restore = Restore {
        key,
        prev: key.with(|c| c.replace(value)),
    };
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static V: Cell<u32> = const { Cell::new(0) };
    }

    #[test]
    fn restores_after_return_and_after_a_panic() {
        assert_eq!(set_during(&V, 7, || V.with(Cell::get)), 7);
        assert_eq!(V.with(Cell::get), 0);
        // Nested, then a panic unwinds through both.
        let unwound = std::panic::catch_unwind(|| {
            set_during(&V, 1, || {
                set_during(&V, 2, || -> () { panic!("unwind through the setter") })
            })
        });
        assert!(unwound.is_err());
        assert_eq!(V.with(Cell::get), 0);
    }
}
