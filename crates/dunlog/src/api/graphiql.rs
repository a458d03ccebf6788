//! GraphiQL served from the binary (SPEC §8: it works without internet): the page on
//! `GET /graphql` and its pinned scripts and styles under `/graphiql/` (graphiql 3.8.3, react and
//! react-dom 18.3.1 from the npm registry; licences beside them in `assets/graphiql/`).

/// The GraphiQL page; every URL in it is a path on this server.
pub const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// One embedded file.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every file under `/graphiql/`, by name.
pub const ASSETS: [(&str, Asset); 7] = [
    (
        "graphiql.min.js",
        Asset {
            bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
            content_type: JS,
        },
    ),
    (
        "graphiql.min.css",
        Asset {
            bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
            content_type: CSS,
        },
    ),
    (
        "react.production.min.js",
        Asset {
            bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
            content_type: JS,
        },
    ),
    (
        "react-dom.production.min.js",
        Asset {
            bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            content_type: JS,
        },
    ),
    (
        "LICENSE-graphiql",
        Asset {
            bytes: include_bytes!("../../assets/graphiql/LICENSE-graphiql"),
            content_type: TEXT,
        },
    ),
    (
        "LICENSE-react",
        Asset {
            bytes: include_bytes!("../../assets/graphiql/LICENSE-react"),
            content_type: TEXT,
        },
    ),
    (
        "LICENSE-react-dom",
        Asset {
            bytes: include_bytes!("../../assets/graphiql/LICENSE-react-dom"),
            content_type: TEXT,
        },
    ),
];

/// The embedded file `name`, if there is one.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, a)| a)
}
