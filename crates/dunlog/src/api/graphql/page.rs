//! Relay-style paging (SPEC §8): page sizes within the limit, opaque cursors, and connections
//! built from a slice or an offset.

use async_graphql::connection::{
    Connection, ConnectionNameType, DefaultConnectionName, DefaultEdgeName, Edge, EdgeNameType,
    EmptyFields,
};
use async_graphql::OutputType;

use super::{limit_error, ApiResult};

use crate::api::limits::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};

pub type Page<T, N = DefaultConnectionName, E = DefaultEdgeName> =
    Connection<String, T, EmptyFields, EmptyFields, N, E>;

/// The page size asked for, within the limit.
pub fn page_size(first: Option<i32>) -> ApiResult<usize> {
    match first {
        None => Ok(PAGE_SIZE_DEFAULT),
        Some(n) if n < 0 => Err(super::validation_error(format!(
            "first = {n}: must not be negative"
        ))),
        Some(n) if n as usize > PAGE_SIZE_MAX => Err(limit_error(format!(
            "first = {n}: at most {PAGE_SIZE_MAX} items per page"
        ))),
        Some(n) => Ok(n as usize),
    }
}

/// Pages a list by offset; cursors are offsets written as strings.
pub fn page_by_offset<T, N, E>(
    items: Vec<T>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Page<T, N, E>>
where
    T: OutputType,
    N: ConnectionNameType,
    E: EdgeNameType,
{
    let (start, size, mut connection) = page_window(items.len(), first, after.as_deref())?;
    connection.edges = items
        .into_iter()
        .enumerate()
        .skip(start)
        .take(size)
        .map(|(i, node)| Edge::new(i.to_string(), node))
        .collect();
    Ok(connection)
}

/// Pages a borrowed list by offset like [`page_by_offset`], converting only the items on the
/// page (a report of 10,000 rows serves a page of 50 without copying the rest).
pub fn page_of_slice<S, T, N, E>(
    items: &[S],
    first: Option<i32>,
    after: Option<&str>,
    node: impl Fn(&S) -> T,
) -> ApiResult<Page<T, N, E>>
where
    T: OutputType,
    N: ConnectionNameType,
    E: EdgeNameType,
{
    let (start, size, mut connection) = page_window(items.len(), first, after)?;
    connection.edges = items
        .iter()
        .enumerate()
        .skip(start)
        .take(size)
        .map(|(i, item)| Edge::new(i.to_string(), node(item)))
        .collect();
    Ok(connection)
}

/// The first offset and the size of the page of `total` items that `first` and `after` ask for,
/// with its connection (no edges yet) saying whether items come before and after it.
fn page_window<T, N, E>(
    total: usize,
    first: Option<i32>,
    after: Option<&str>,
) -> ApiResult<(usize, usize, Page<T, N, E>)>
where
    T: OutputType,
    N: ConnectionNameType,
    E: EdgeNameType,
{
    let size = page_size(first)?;
    let start = page_start(after)?;
    let connection = Connection::new(start > 0, start.saturating_add(size) < total);
    Ok((start, size, connection))
}

/// The offset of the first item after the cursor `after` (0 without one).
fn page_start(after: Option<&str>) -> ApiResult<usize> {
    match after {
        None => Ok(0),
        Some(cursor) => Ok(cursor
            .parse::<usize>()
            .map_err(|_| super::validation_error(format!("after = {cursor:?}: not a cursor")))?
            .saturating_add(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(page: &Page<i32>) -> Vec<(String, i32)> {
        page.edges
            .iter()
            .map(|e| (e.cursor.clone(), e.node))
            .collect()
    }

    #[test]
    fn a_page_of_a_slice_is_that_page_of_the_whole_list() {
        let items: Vec<i32> = (0..7).collect();
        for first in [None, Some(0), Some(1), Some(3), Some(7), Some(9)] {
            for after in [None, Some("0"), Some("2"), Some("5"), Some("6"), Some("40")] {
                let whole: Page<i32> =
                    page_by_offset(items.clone(), first, after.map(str::to_owned)).unwrap();
                let sliced: Page<i32> = page_of_slice(&items, first, after, |i| *i).unwrap();
                assert_eq!(
                    edges(&whole),
                    edges(&sliced),
                    "first {first:?} after {after:?}"
                );
                assert_eq!(
                    (whole.has_previous_page, whole.has_next_page),
                    (sliced.has_previous_page, sliced.has_next_page),
                    "first {first:?} after {after:?}"
                );
            }
        }
        let bad: ApiResult<Page<i32>> = page_of_slice(&items, None, Some("x"), |i| *i);
        assert!(bad.is_err());
        let too_many: ApiResult<Page<i32>> = page_of_slice(&items, Some(501), None, |i| *i);
        assert!(too_many.is_err());
    }
}
