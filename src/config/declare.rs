//! The `settings!` macro: each setting is declared once, in `settings.rs`, with its doc,
//! type, default, check and (for `serve`'s command line) flag; the macro derives from that
//! one line the field, the default, setting it from text (environment and flags), the
//! check, and the config file's shape. Nothing else here.
//!
//! A `group` is a set of top-level keys of the file (`bind = ...`), named for the
//! component that reads them; a `section` is a `[table]` of the file whose environment
//! variables carry a prefix (`[local] workers` is `SMART_ROUTING_LOCAL_WORKERS`).

/// `group name: Type, "doc" { settings }` and `section name: Type, prefix "p", "doc"
/// { settings }`. One setting: `/// doc` lines, `key: Type = default`, then optionally
/// `, check EXPR` (a function of `&Type` returning `Result<(), String>`) and
/// `, flag("long", "help")`.
macro_rules! settings {
    (
        $(
            group $group:ident: $Group:ident, $gdoc:literal {
                $(
                    $(#[doc = $doc:literal])*
                    $key:ident: $ty:ty = $default:expr
                        $(, check $check:expr)?
                        $(, flag($long:literal, $help:literal))?
                    ;
                )*
            }
        )*
        $(
            section $section:ident: $Section:ident, prefix $prefix:literal, $sdoc:literal {
                $(
                    $(#[doc = $sfdoc:literal])*
                    $skey:ident: $sty:ty = $sdefault:expr
                        $(, check $scheck:expr)?
                        $(, flag($slong:literal, $shelp:literal))?
                    ;
                )*
            }
        )*
    ) => {
        $(
            #[doc = $gdoc]
            #[derive(Debug, Clone, PartialEq)]
            pub struct $Group {
                $( $(#[doc = $doc])* pub $key: $ty, )*
            }

            impl Default for $Group {
                fn default() -> Self {
                    Self { $( $key: $default, )* }
                }
            }
        )*

        $(
            #[doc = $sdoc]
            #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
            #[serde(default, deny_unknown_fields)]
            pub struct $Section {
                $( $(#[doc = $sfdoc])* pub $skey: $sty, )*
            }

            impl Default for $Section {
                fn default() -> Self {
                    Self { $( $skey: $sdefault, )* }
                }
            }

            impl $Section {
                /// The section's settings, by the names the file uses.
                pub const KEYS: &'static [&'static str] = &[$( stringify!($skey), )*];

                /// Sets one of the section's settings from its text form, checked.
                pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
                    let name = || key.to_owned();
                    let invalid = |reason: String| ConfigError::Invalid {
                        name: name(),
                        reason: format!("{reason} (got '{value}')"),
                    };
                    match key {
                        $(
                            stringify!($skey) => {
                                let parsed: $sty = Setting::parse(value).map_err(&invalid)?;
                                $( ($scheck)(&parsed).map_err(&invalid)?; )?
                                self.$skey = parsed;
                            }
                        )*
                        _ => {
                            return Err(ConfigError::Invalid {
                                name: name(),
                                reason: format!(
                                    "no such [{}] setting (known: {})",
                                    stringify!($section),
                                    Self::KEYS.join(", ")
                                ),
                            })
                        }
                    }
                    Ok(())
                }

                /// Checks every setting of the section, whichever way it was given.
                pub fn validate(&self) -> Result<(), ConfigError> {
                    $($(
                        ($scheck)(&self.$skey).map_err(|reason: String| ConfigError::Invalid {
                            name: stringify!($skey).to_owned(),
                            reason: format!("{reason} (got {})", Setting::show(&self.$skey)),
                        })?;
                    )?)*
                    Ok(())
                }
            }
        )*

        /// Every setting of `smart-routing serve`, grouped by the component that reads
        /// them; `config/default.toml` documents each one.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Config {
            $( pub $group: $Group, )*
            $( pub $section: $Section, )*
        }

        /// The config file: every group's keys at the top level, each section a table.
        #[derive(serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub(super) struct File {
            $( $( $key: $ty, )* )*
            $( $section: $Section, )*
        }

        impl Default for File {
            fn default() -> Self {
                Config::default().into()
            }
        }

        impl From<Config> for File {
            fn from(config: Config) -> Self {
                Self {
                    $( $( $key: config.$group.$key, )* )*
                    $( $section: config.$section, )*
                }
            }
        }

        impl From<File> for Config {
            fn from(file: File) -> Self {
                Self {
                    $( $group: $Group { $( $key: file.$key, )* }, )*
                    $( $section: file.$section, )*
                }
            }
        }

        impl Config {
            /// The top-level settings, by the names the file uses.
            pub const KEYS: &'static [&'static str] = &[$($( stringify!($key), )*)*];

            /// Sets one setting from its text form: a top-level key, or a section's key
            /// with the section's prefix. `Ok(false)` when no setting has that name.
            pub(super) fn set_declared(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
                let invalid = |reason: String| ConfigError::Invalid {
                    name: key.to_owned(),
                    reason,
                };
                match key {
                    $($(
                        stringify!($key) => self.$group.$key = Setting::parse(value).map_err(invalid)?,
                    )*)*
                    _ => {
                        $(
                            if let Some(inner) = key.strip_prefix($prefix) {
                                if $Section::KEYS.contains(&inner) {
                                    // Named as the caller named it, prefix and all.
                                    self.$section.set(inner, value).map_err(|e| match e {
                                        ConfigError::Invalid { reason, .. } => {
                                            ConfigError::Invalid { name: key.to_owned(), reason }
                                        }
                                        other => other,
                                    })?;
                                    return Ok(true);
                                }
                            }
                        )*
                        return Ok(false);
                    }
                }
                Ok(true)
            }

            /// Checks every top-level setting and every section.
            pub(super) fn validate_declared(&self) -> Result<(), ConfigError> {
                $($($(
                    ($check)(&self.$group.$key).map_err(|reason: String| ConfigError::Invalid {
                        name: stringify!($key).to_owned(),
                        reason,
                    })?;
                )?)*)*
                $( self.$section.validate()?; )*
                Ok(())
            }
        }

        /// The settings `serve` takes as flags, in the order of their declaration: the
        /// flag's long name, its help, and the setting's name as `Config::set` takes it.
        pub const FLAGS: &[Flag] = &[
            $($($( Flag { long: $long, help: $help, key: stringify!($key) }, )?)*)*
            $($($( Flag { long: $slong, help: $shelp, key: concat!($prefix, stringify!($skey)) }, )?)*)*
        ];
    };
}

pub(super) use settings;
