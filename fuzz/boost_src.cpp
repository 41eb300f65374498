// Boost.JSON and Boost.URL built from source into the fuzz targets.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
