; Definitions in Rust: fns (methods when inside an impl/trait), structs, enums, traits, impls, mods.
(function_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.class
(enum_item name: (type_identifier) @name) @definition.class
(trait_item name: (type_identifier) @name) @definition.class
(impl_item type: (_) @name) @definition.class
(mod_item name: (identifier) @name body: (declaration_list)) @definition.class
