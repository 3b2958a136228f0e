//! Seed data shaped like the tutorials' generator script (seed 000): book orders with a
//! UUID order id, user 1..50, book 1..9, count 1..5 and amount = price × count.
//!
//! Deterministic for a given seed so tests can state exact expectations.

/// The nine books of the seed tutorials: id, name, price.
pub const BOOKS: [(i64, &str, i64); 9] = [
    (1, "嫌われる勇気", 500),
    (2, "ノルウェイの森", 600),
    (3, "海辺のカフカ", 700),
    (4, "色彩を持たない多崎つくると彼の巡礼の年", 300),
    (5, "容疑者Ⅹの献身", 200),
    (6, "人間失格", 100),
    (7, "こころ", 350),
    (8, "天声人语", 550),
    (9, "幸せになる勇気", 650),
];

/// The names of [`BOOKS`], in id order (the name of book `id` is `BOOK_NAMES[id - 1]`).
pub const BOOK_NAMES: [&str; BOOKS.len()] = {
    let mut names = [""; BOOKS.len()];
    let mut i = 0;
    while i < BOOKS.len() {
        names[i] = BOOKS[i].1;
        i += 1;
    }
    names
};

/// The CSV header of an orders file.
pub const ORDERS_HEADER: &str = "order_id,user_id,book_id,book_name,order_cnt,order_amt";

/// One generated order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub user_id: i64,
    pub book_id: i64,
    pub book_name: &'static str,
    pub order_cnt: i64,
    pub order_amt: i64,
}

impl Order {
    /// The order as one CSV line (no field needs quoting).
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{}",
            self.order_id,
            self.user_id,
            self.book_id,
            self.book_name,
            self.order_cnt,
            self.order_amt
        )
    }
}

/// splitmix64: tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    /// A random (version 4 layout) UUID.
    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// `n` orders from `seed`, like the tutorial's script.
pub fn orders(n: usize, seed: u64) -> impl Iterator<Item = Order> {
    let mut rng = Rng::new(seed);
    (0..n).map(move |_| {
        let book_id = rng.range(1, 9);
        let (_, book_name, price) = BOOKS[(book_id - 1) as usize];
        let order_cnt = rng.range(1, 5);
        Order {
            order_id: rng.uuid(),
            user_id: rng.range(1, 50),
            book_id,
            book_name,
            order_cnt,
            order_amt: price * order_cnt,
        }
    })
}

/// An orders CSV file (header included) as a string.
pub fn orders_csv(n: usize, seed: u64) -> String {
    let mut s = String::with_capacity(n * 80);
    s.push_str(ORDERS_HEADER);
    s.push('\n');
    for o in orders(n, seed) {
        s.push_str(&o.csv_line());
        s.push('\n');
    }
    s
}

/// A ratings CSV like seed 002's Log Service records: `id` (a book id 1..9), `user_id`
/// (a UUID), `rating` (1..5), header included.
pub fn ratings_csv(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut s = String::from("id,user_id,rating\n");
    for _ in 0..n {
        let id = rng.range(1, 9);
        let user = rng.uuid();
        let rating = rng.range(1, 5);
        s.push_str(&format!("{id},{user},{rating}\n"));
    }
    s
}

/// The headerless `id,name` dimension file of seed 002.
pub fn books_csv() -> String {
    BOOKS
        .iter()
        .map(|(id, name, _)| format!("{id},{name}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let a: Vec<_> = orders(1000, 7).collect();
        assert_eq!(a, orders(1000, 7).collect::<Vec<_>>());
        assert_ne!(a, orders(1000, 8).collect::<Vec<_>>());
        for o in &a {
            assert!((1..=50).contains(&o.user_id));
            assert!((1..=5).contains(&o.order_cnt));
            assert_eq!(o.order_amt, BOOKS[(o.book_id - 1) as usize].2 * o.order_cnt);
            assert_eq!(o.order_id.len(), 36);
        }
        let ids: std::collections::HashSet<_> = a.iter().map(|o| &o.order_id).collect();
        assert_eq!(ids.len(), a.len());
    }

    #[test]
    fn book_ids_run_from_one_and_names_follow_them() {
        for (i, (id, name, _)) in BOOKS.iter().enumerate() {
            assert_eq!(*id, i as i64 + 1);
            assert_eq!(BOOK_NAMES[i], *name);
        }
    }

    #[test]
    fn books_fixture_is_the_seed_books_file() {
        assert_eq!(include_str!("../../data/books.csv"), books_csv());
    }
}
