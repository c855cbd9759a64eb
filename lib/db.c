/* the pond_db handle: filled in by the db/tags work */
